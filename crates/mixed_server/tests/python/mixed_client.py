# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

protocol = input("Choisissez le protocole (TCP/UDP) : ").strip().lower()

if protocol == 'tcp':
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.connect(('localhost', 12345))

    message = "Bonjour serveur TCP"
    client_socket.sendall(message.encode())
    response = client_socket.recv(1024)
    print("Réponse du serveur :", response.decode())
    client_socket.close()

elif protocol == 'udp':
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    message = "Bonjour serveur UDP"
    client_socket.sendto(message.encode(), ('localhost', 12346))
    response, _ = client_socket.recvfrom(1024)
    print("Réponse du serveur :", response.decode())
    client_socket.close()

else:
    print("Protocole non valide.")
