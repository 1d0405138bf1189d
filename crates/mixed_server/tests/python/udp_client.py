# Copied unchanged from the TP 04 sheet (ports replaced by the tests).
import socket

# Création du socket UDP
client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
message = "Bonjour serveur UDP"
client_socket.sendto(message.encode(), ('localhost', 12345))
response, _ = client_socket.recvfrom(1024)
print("Réponse du serveur :", response.decode())

client_socket.close()
