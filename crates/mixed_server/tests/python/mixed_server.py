# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

# Création des sockets TCP et UDP
tcp_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp_socket.bind(('localhost', 12345))
tcp_socket.listen(5)

udp_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp_socket.bind(('localhost', 12346))

print("Serveur en attente de connexions...")

while True:
    # Gestion des connexions TCP
    connection, address = tcp_socket.accept()
    print("Connexion TCP établie avec :", address)

    while True:
        data = connection.recv(1024)
        if not data:
            print("Client déconnecté.")
            break
        print("Reçu via TCP :", data.decode())
        connection.sendall(b"Message reçu via TCP")

    connection.close()
    print("Connexion TCP fermée.")

    # Gestion des messages UDP
    data, address = udp_socket.recvfrom(1024)
    print("Reçu via UDP :", data.decode())
    udp_socket.sendto(b"Message reçu via UDP", address)
