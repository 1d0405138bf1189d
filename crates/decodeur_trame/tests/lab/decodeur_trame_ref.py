# The lab's decoder (sheet 16.4 to 16.11), written as the sheet describes it:
# struct.unpack masks, shifts and modulos, one function per question. Reads
# one frame per line (hex) on stdin and prints, for each one, the frame's
# header line, decode_trame's text and an empty line: what
# `decodeur_trame pcap` prints. Used by tests/lab_python.rs as the oracle.
#
# Two rules come from the issue, not the sheet (the sheet leaves them open):
# IPv4 Total Length and UDP Length bound the data only when they agree with
# the bytes present (so Ethernet padding is not data); otherwise the bytes
# present are the data.
import struct
import sys


def decode_UDP(data):
    port_source, port_dest, longueur = struct.unpack("!HHH", data[:6])
    texte = "        +++ Paquet UDP +++\n"
    texte += "            Port source      : %d\n" % port_source
    texte += "            Port destination : %d\n" % port_dest
    texte += "            Longueur totale  : %d\n" % longueur
    fin = longueur if 8 <= longueur <= len(data) else len(data)
    return texte, data[8:fin]


def decode_TCP(data):
    port_source, port_dest, _, _, decalage = struct.unpack("!HHLLB", data[:13])
    longueur = decalage >> 4
    texte = "        +++ Paquet TCP +++\n"
    texte += "            Port source      : %d\n" % port_source
    texte += "            Port destination : %d\n" % port_dest
    texte += "            Longueur en-tête : %d\n" % longueur
    return texte, data[longueur * 4:]


def decode_ICMP(data):
    (type_icmp,) = struct.unpack("!B", data[:1])
    texte = "        +++ Paquet ICMP +++\n"
    texte += "            Type             : %d\n" % type_icmp
    return texte


def decode_adresse_IP(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) % 256, (n >> 8) % 256, n % 256)


def decode_IP(data):
    (ver_ihl, _, total, _, _, _, protocole, _, source, dest) = struct.unpack(
        "!BBHHHBBHLL", data[:20]
    )
    version = ver_ihl >> 4
    ihl = ver_ihl % 2**4
    texte = "    --- Paquet IP ---\n"
    texte += "        Version          : %d\n" % version
    texte += "        Longueur en-tête : %d\n" % ihl
    texte += "        Protocole        : %d\n" % protocole
    texte += "        Adresse source   : %s\n" % decode_adresse_IP(source)
    texte += "        Adresse dest.    : %s\n" % decode_adresse_IP(dest)
    fin = total if ihl * 4 <= total <= len(data) else len(data)
    return texte, protocole, data[ihl * 4:fin]


def decode_adresse_MAC(mac):
    return ":".join("%.2x" % octet for octet in mac)


def decode_Ethernet(data):
    dest, source, protocole = struct.unpack("!6s6sH", data[:14])
    texte = ">>> Trame Ethernet <<<\n"
    texte += "    Adresse MAC Destination : %s\n" % decode_adresse_MAC(dest)
    texte += "    Adresse MAC Source      : %s\n" % decode_adresse_MAC(source)
    texte += "    Protocol                : %d\n" % protocole
    return texte, protocole, data[14:]


def decode_trame(trame):
    texte, protocole, data = decode_Ethernet(trame)
    if protocole == 0x0800:
        texte_ip, protocole, data = decode_IP(data)
        texte += texte_ip
        if protocole == 17:
            texte_udp, data = decode_UDP(data)
            texte += texte_udp
        elif protocole == 6:
            texte_tcp, data = decode_TCP(data)
            texte += texte_tcp
        elif protocole == 1:
            texte += decode_ICMP(data)
            data = data[8:]
        texte += "            Données          : %r\n" % data
    return texte


for numero, ligne in enumerate(sys.stdin, 1):
    trame = bytes.fromhex(ligne.strip())
    sys.stdout.write("=== Trame %d : %d octets ===\n" % (numero, len(trame)))
    sys.stdout.write(decode_trame(trame))
    sys.stdout.write("\n")
