# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

# Création du socket TCP
client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect(('localhost', 12345))

message = "Bonjour serveur TCP"
client_socket.sendall(message.encode())
response = client_socket.recv(1024)
print("Réponse du serveur :", response.decode())

client_socket.close()
print("Connexion fermée.")
