# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

# Création du socket UDP
server_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server_socket.bind(('localhost', 12345))

print("Serveur UDP en attente de messages...")

while True:
    data, address = server_socket.recvfrom(1024)
    print("Reçu :", data.decode(), "de", address)
    server_socket.sendto(b"Message reçu", address)
