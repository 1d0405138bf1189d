# The sheet's server.py (2.1) made threaded as 5.2 asks: one thread per
# client. Python 3 refuses b"Message reçu" (non-ASCII in a bytes literal), so
# the answer is encoded as a student must write it. The port comes from the
# command line (0 = any) and the ready line goes to stderr, for
# scripts/bench_sockets.sh.
import socket
import sys
import threading

server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(('localhost', int(sys.argv[1]) if len(sys.argv) > 1 else 12345))
server_socket.listen(128)
print("serveur_threads.py: en écoute sur %s:%d" % server_socket.getsockname(), file=sys.stderr, flush=True)

print("Serveur en attente de connexions...")


def client(connection, address):
    print("Connexion établie avec :", address)
    while True:
        data = connection.recv(1024)
        if not data:
            print("Client déconnecté.")
            break
        print("Reçu :", data.decode())
        connection.sendall("Message reçu".encode())
    connection.close()
    print("Connexion fermée.")


while True:
    connection, address = server_socket.accept()
    threading.Thread(target=client, args=(connection, address), daemon=True).start()
