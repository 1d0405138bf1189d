//! SEND / RECV in the hub: offers, refusals with their exact texts, and the
//! orders of an accepted transfer (the bytes are tested over sockets).

use super::Sim;
use crate::texts::*;

const HASH: &str = "0123456789abcdef";

#[test]
fn an_offer_accepted_gives_each_end_its_order_and_token() {
    let mut s = Sim::new();
    let a = s.project("alice");
    let b = s.project("bob");
    assert_eq!(
        s.reply(a, &format!("SEND bob 1048576 {HASH} mon rapport.pdf")),
        "Fichier mon rapport.pdf proposé à bob (1048576 octets) : en attente de son accord\n"
    );
    assert_eq!(
        s.take(b),
        "alice vous propose le fichier mon rapport.pdf (1048576 octets) : /RECV alice pour l'accepter\n"
    );
    assert!(s.transfers.is_empty());
    s.line(b, "RECV alice /tmp/ailleurs");
    let (ts, tr) = (format!("{:032x}", 1), format!("{:032x}", 2));
    assert_eq!(s.transfers, vec![(ts.clone(), tr.clone(), 1_048_576)]);
    assert_eq!(
        s.take(a),
        format!(
            "Transfert {ts} : envoyez mon rapport.pdf (1048576 octets, empreinte {HASH}) à bob\n"
        )
    );
    assert_eq!(
        s.take(b),
        format!(
            "Transfert {tr} : recevez mon rapport.pdf (1048576 octets, empreinte {HASH}) de alice\n"
        )
    );
    // An offer is accepted once.
    assert_eq!(
        s.reply(b, "RECV alice"),
        "alice ne vous propose aucun fichier\n"
    );
    assert_eq!(s.transfers.len(), 1);
}

#[test]
fn refusals() {
    let mut s = Sim::new();
    let a = s.project("alice");
    let b = s.project("bob");
    let i = s.irc("ircuser");
    assert_eq!(
        s.reply(a, &format!("SEND carol 10 {HASH} f.txt")),
        "Utilisateur inconnu : carol\n"
    );
    assert_eq!(
        s.reply(a, &format!("SEND ALICE 10 {HASH} f.txt")),
        SEND_TO_SELF
    );
    assert_eq!(
        s.reply(a, &format!("SEND ircuser 10 {HASH} f.txt")),
        "ircuser utilise un client IRC, qui ne peut pas échanger de fichiers\n"
    );
    assert_eq!(
        s.reply(a, &format!("SEND bob 10 {HASH} ../etc/passwd")),
        "Nom de fichier invalide : un nom de fichier, pas un chemin (ni / ni \\)\n"
    );
    assert_eq!(
        s.reply(a, &format!("SEND bob 10 {HASH} a\u{1b}[2J")),
        "Nom de fichier invalide : caractère de contrôle interdit\n"
    );
    assert_eq!(
        s.reply(a, &format!("SEND bob 104857601 {HASH} gros.iso")),
        "Fichier trop gros : 104857601 octets, 104857600 (100 Mio) au plus\n"
    );
    s.line(a, &format!("SEND bob 104857600 {HASH} juste.iso"));
    assert!(s
        .take(b)
        .starts_with("alice vous propose le fichier juste.iso"));
    s.take_all();
    assert_eq!(s.reply(b, "RECV carol"), "Utilisateur inconnu : carol\n");
    assert_eq!(
        s.reply(a, "RECV bob"),
        "bob ne vous propose aucun fichier\n"
    );
    assert_eq!(
        s.reply(b, "RECV"),
        "Commande mal formée, la syntaxe est : /RECV <pseudo> [<dossier>]\n"
    );
    assert!(s.transfers.is_empty());
    assert_eq!(s.take(i), "");
}

#[test]
fn twenty_offers_at_most_per_sender() {
    let mut s = Sim::new();
    let a = s.project("alice");
    for n in 0..21 {
        s.project(&format!("u{n}"));
    }
    for n in 0..20 {
        s.line(a, &format!("SEND u{n} 1 {HASH} f.txt"));
    }
    s.take_all();
    assert_eq!(
        s.reply(a, &format!("SEND u20 1 {HASH} f.txt")),
        TOO_MANY_OFFERS
    );
    // Replacing an offer is always possible.
    assert!(s
        .reply(a, &format!("SEND u3 2 {HASH} g.txt"))
        .starts_with("Fichier g.txt proposé à u3"));
}

#[test]
fn a_new_offer_replaces_the_old_and_leaving_cancels_offers() {
    let mut s = Sim::new();
    let a = s.project("alice");
    let b = s.project("bob");
    s.set_up(&[
        (a, &format!("SEND bob 1 {HASH} un.txt")),
        (a, &format!("SEND bob 2 {HASH} deux.txt")),
    ]);
    assert!(s
        .reply(b, "RECV alice")
        .contains(" : recevez deux.txt (2 octets,"));
    assert_eq!(
        s.reply(b, "RECV alice"),
        "alice ne vous propose aucun fichier\n"
    );
    // A nickname change keeps the offer; a departure drops it.
    s.set_up(&[
        (a, &format!("SEND bob 3 {HASH} trois.txt")),
        (a, "NICK alice2"),
    ]);
    assert!(s
        .reply(b, "RECV alice2")
        .contains(" : recevez trois.txt (3 octets,"));
    s.line(a, &format!("SEND bob 4 {HASH} quatre.txt"));
    s.disconnect(a);
    let c = s.project("alice2");
    s.take_all();
    assert_eq!(
        s.reply(b, "RECV alice2"),
        "alice2 ne vous propose aucun fichier\n"
    );
    assert_eq!(s.take(c), "");
    assert_eq!(s.transfers.len(), 2);
}
