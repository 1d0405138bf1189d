# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

# Création du socket TCP
server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.bind(('localhost', 12345))
server_socket.listen(5)

print("Serveur en attente de connexions...")

while True:
    connection, address = server_socket.accept()
    print("Connexion établie avec :", address)

    while True:
        data = connection.recv(1024)
        if not data:
            print("Client déconnecté.")
            break
        print("Reçu :", data.decode())
        connection.sendall(b"Message reçu")

    connection.close()
    print("Connexion fermée.")
