# Fonctions communes à bench_http.sh et attaque_http.sh (à sourcer).

# Un port TCP libre sur 127.0.0.1.
port_libre() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Attend (5 s au plus) qu'un serveur écoute sur le port $1.
attendre_port() { # port
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "$(basename "$0") : rien n'écoute sur le port $1" >&2
    exit 1
}
