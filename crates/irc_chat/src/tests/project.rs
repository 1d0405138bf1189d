//! The project's protocol: every command and refusal, exact replies.

use super::Sim;
use crate::texts::*;
use crate::Flood;

#[test]
fn greeting_after_a_silent_start_then_the_nickname_rules() {
    let mut s = Sim::new();
    let a = s.connect();
    s.event(crate::Event::Tick);
    assert_eq!(s.take(a), "", "an IRC client may still speak first");
    s.advance(300);
    s.event(crate::Event::Tick);
    assert_eq!(
        s.take(a),
        "Vous êtes connecté\nChoisissez un pseudonyme (1 à 32 lettres, chiffres, _ ou -) ou tapez /BYE pour partir\n"
    );
    assert_eq!(
        s.reply(a, "messagealice"),
        "Bienvenue alice ! Tapez /HELP pour la liste des commandes\n"
    );
    // A client that speaks at once gets the greeting before the answer.
    let b = s.connect();
    assert_eq!(
        s.reply(b, "messagealice"),
        format!("{CONNECTED}{CHOOSE_NICK}Nickname déjà utilisé\n{CHOOSE_NICK}")
    );
    for taken in ["messageALICE", "messageＡlice"] {
        assert_eq!(
            s.reply(b, taken),
            format!("{NICK_TAKEN}{CHOOSE_NICK}"),
            "{taken}"
        );
    }
    assert_eq!(
        s.reply(b, "messagea b"),
        format!("Pseudonyme invalide : caractère ' ' interdit (lettres, chiffres, _ et - seulement)\n{CHOOSE_NICK}")
    );
    assert_eq!(
        s.reply(b, &format!("message{}", "x".repeat(33))),
        format!("Pseudonyme invalide : 33 caractères, 32 au plus\n{CHOOSE_NICK}")
    );
    assert_eq!(
        s.reply(b, "message"),
        format!("Pseudonyme invalide : nom vide\n{CHOOSE_NICK}")
    );
    // A nickname without the `message` prefix (a raw client) is fine too.
    assert_eq!(s.reply(b, "bob"), welcome("bob"));
    assert_eq!(s.hub.nicks(), ["alice", "bob"]);
    // /BYE before choosing a nickname.
    let c = s.connect();
    s.line(c, "BYE");
    assert!(s.closed.contains(&c));
    assert_eq!(s.hub.client_count(), 2);
}

#[test]
fn a_connection_that_never_registers_is_closed_after_a_minute() {
    let mut s = Sim::new();
    let a = s.connect();
    let i = s.connect();
    s.line(i, "NICK irene");
    s.advance(59_000);
    s.event(crate::Event::Tick);
    assert!(s.closed.is_empty());
    s.take_all();
    s.advance(1_000);
    s.event(crate::Event::Tick);
    assert_eq!(
        s.take(a),
        "Aucun pseudonyme choisi en 60 secondes : déconnexion\n"
    );
    assert_eq!(
        s.take(i),
        "ERROR :Closing Link: 127.0.0.1 (Registration timeout)\r\n"
    );
    assert!(s.closed.contains(&a) && s.closed.contains(&i));
    assert_eq!(s.hub.client_count(), 0);
}

#[test]
fn help_list_join_who() {
    let mut s = Sim::new();
    let [a, b, c, d] = s.projects(["alice", "bob", "carol", "dave"]);
    assert_eq!(s.reply(a, "HELP"), HELP);
    assert!(HELP.lines().all(|l| l.starts_with("* ")));
    assert_eq!(s.reply(a, "LIST"), "Il n'y a pas de chaînes en cours\n");
    assert_eq!(
        s.reply(a, "WHO"),
        "Vous n'avez pas de chaîne actuellement\n"
    );
    assert_eq!(
        s.reply(a, "JOIN chan1"),
        "Vous avez créé la chaîne chan1, vous en êtes l'administrateur\n"
    );
    assert_eq!(s.reply(a, "WHO"), "Vous êtes seul(e) dans cette chaîne\n");
    assert_eq!(
        s.reply(a, "messageil y a quelqu'un ?"),
        "Vous êtes seul(e) dans cette chaîne\n"
    );
    assert_eq!(
        s.reply(b, "JOIN chan1"),
        "Vous avez rejoint la chaîne chan1\n"
    );
    assert_eq!(s.take(a), "bob a rejoint la chaîne chan1\n");
    assert_eq!(
        s.reply(c, "join CHAN1"),
        "Vous avez rejoint la chaîne chan1\n"
    );
    assert_eq!(s.take(a), "carol a rejoint la chaîne chan1\n");
    assert_eq!(s.take(b), "carol a rejoint la chaîne chan1\n");
    assert_eq!(
        s.reply(c, "JOIN chan1"),
        "Vous êtes déjà dans cette chaîne\n"
    );
    s.line(d, "JOIN chan2");
    s.take(d);
    assert_eq!(
        s.reply(d, "LIST"),
        "Les chaînes en cours sont: chan1 chan2\n"
    );
    assert_eq!(s.reply(b, "WHO"), "Liste des adhérents:\n@alice@\ncarol\n");
    assert_eq!(s.reply(a, "WHO"), "Liste des adhérents:\nbob\ncarol\n");
    assert_eq!(
        s.reply(d, "JOIN bad#name"),
        "Nom de chaîne invalide : caractère '#' interdit (lettres, chiffres, _ et - seulement)\n"
    );
    assert_eq!(s.take(a), "");
}

#[test]
fn messages_and_private_messages() {
    let mut s = Sim::new();
    let [a, b, c, d] = s.three_in_chan1_and_dave_in_chan2();
    assert_eq!(s.reply(a, "messagebonjour à tous"), "");
    assert_eq!(s.take(b), "alice: bonjour à tous\n");
    assert_eq!(s.take(c), "alice: bonjour à tous\n");
    assert_eq!(s.take(d), "");
    s.line(a, "MSG bob;carol salut  vous deux");
    assert_eq!(s.take(b), "Message privé de alice : salut  vous deux\n");
    assert_eq!(s.take(c), "Message privé de alice : salut  vous deux\n");
    assert_eq!(s.take(a), "");
    s.line(a, "MSG bob;zoe;dave coucou");
    assert_eq!(s.take(b), "Message privé de alice : coucou\n");
    assert_eq!(
        s.take(a),
        "Utilisateur inconnu : zoe\ndave n'est pas dans cette chaîne\n"
    );
    assert_eq!(s.take(d), "");
    assert_eq!(
        s.reply(a, "MSG bob"),
        "Commande mal formée, la syntaxe est : /MSG <pseudo1;pseudo2;...> <message>\n"
    );
    assert_eq!(
        s.reply(a, "message   "),
        "Message vide : rien n'a été envoyé\n"
    );
    // No terminal escape, bidi control or forged line reaches anyone.
    s.line(a, "message\u{1b}[2Jvide\u{202e}txt.exe\rbob: faux");
    assert_eq!(
        s.take(b),
        "alice: \\x1b[2Jvide\\u202etxt.exe\\x0dbob: faux\n"
    );
    s.line(a, "MSG bob \u{9b}31m");
    assert_eq!(s.take(b), "Message privé de alice : \\x9b31m\n");
    assert_eq!(
        s.reply(a, "MSG \u{1b}[2J x"),
        "Utilisateur inconnu : \\x1b[2J\n"
    );
}

#[test]
fn leaving_hands_the_channel_over_and_empty_channels_disappear() {
    let mut s = Sim::new();
    let [a, b, c] = s.projects(["alice", "bob", "carol"]);
    s.set_up(&[(a, "JOIN chan1"), (b, "JOIN chan1"), (c, "JOIN chan1")]);
    assert_eq!(
        s.reply(a, "LEAVE"),
        "Vous n'êtes plus dans la chaîne.\nRejoignez une autre chaîne.\nFaites la commande /HELP pour plus d'aide.\n"
    );
    assert_eq!(
        s.take(b),
        "alice est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n"
    );
    assert_eq!(s.take(c), "alice est parti\n");
    assert_eq!(s.hub.channel("chan1").unwrap().main_admin, "bob");
    assert_eq!(
        s.reply(a, "LEAVE"),
        "Vous n'avez pas de chaîne actuellement\n"
    );
    assert_eq!(
        s.reply(a, "messageallo"),
        "Vous n'avez pas de chaîne actuellement\n"
    );
    // Leaving one of two channels: the other becomes the current one.
    s.line(c, "JOIN chan2");
    assert_eq!(
        s.reply(c, "LEAVE"),
        "Vous avez créé la chaîne chan2, vous en êtes l'administrateur\nVous n'êtes plus dans la chaîne.\nVotre chaîne actuelle est: chan1\n"
    );
    assert_eq!(s.hub.channel_names(), ["chan1"]);
    s.line(b, "LEAVE");
    assert_eq!(
        s.reply(c, "LEAVE"),
        format!(
            "bob est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n{LEFT_TO_LOBBY}"
        )
    );
    assert_eq!(s.reply(a, "LIST"), NO_CHANNELS);
    // A channel created again starts afresh, its creator the admin.
    s.line(a, "JOIN chan1");
    assert_eq!(s.hub.channel("chan1").unwrap().main_admin, "alice");
}

#[test]
fn kick_rules() {
    let mut s = Sim::new();
    let [a, b, c, _dave] = s.three_in_chan1_and_dave_in_chan2();
    assert_eq!(
        s.reply(b, "KICK carol"),
        "Calme-toi, tu n'es pas l'administrateur de la chaîne\n"
    );
    assert_eq!(
        s.reply(a, "KICK alice"),
        "Utilisez la commande /LEAVE pour quitter la chaîne\n"
    );
    assert_eq!(s.reply(a, "KICK zoe"), "Utilisateur inconnu : zoe\n");
    assert_eq!(
        s.reply(a, "KICK dave"),
        "dave n'est pas dans cette chaîne\n"
    );
    assert_eq!(
        s.reply(a, "KICK"),
        "Commande mal formée, la syntaxe est : /KICK <pseudo>\n"
    );
    s.line(a, "KICK bob");
    assert_eq!(s.take(b), "alice vous a retiré de la chaîne chan1\n");
    assert_eq!(s.take(a), "bob a été retiré de la chaîne par alice\n");
    assert_eq!(s.take(c), "bob a été retiré de la chaîne par alice\n");
    assert_eq!(s.hub.current_of("bob"), None);
    assert_eq!(s.reply(b, "messagehé !"), NO_CURRENT);
    // A granted admin may kick a member, not an admin.
    s.set_up(&[(b, "JOIN chan1"), (a, "GRANT carol")]);
    assert_eq!(
        s.reply(c, "KICK alice"),
        "Vous ne pouvez pas retirer un administrateur de la chaîne\n"
    );
    s.set_up(&[(a, "GRANT bob")]);
    assert_eq!(
        s.reply(c, "KICK bob"),
        "Vous ne pouvez pas retirer un administrateur de la chaîne\n"
    );
    s.set_up(&[(a, "REVOKE bob")]);
    s.line(c, "KICK bob");
    assert_eq!(s.take(b), "carol vous a retiré de la chaîne chan1\n");
    assert_eq!(s.take(a), "bob a été retiré de la chaîne par carol\n");
    s.take_all();
    // The main admin may kick a granted admin.
    s.line(a, "KICK carol");
    assert_eq!(s.take(c), "alice vous a retiré de la chaîne chan1\n");
    assert_eq!(s.hub.channel("chan1").unwrap().members, ["alice"]);
}

#[test]
fn rename_and_current() {
    let mut s = Sim::new();
    let [a, b, c] = s.projects(["alice", "bob", "carol"]);
    s.set_up(&[(a, "JOIN chan1"), (b, "JOIN chan1"), (c, "JOIN chan2")]);
    assert_eq!(s.reply(b, "REN salon"), NOT_ADMIN);
    assert_eq!(s.reply(a, "REN CHAN2"), "Cette chaîne existe déjà\n");
    assert_eq!(
        s.reply(a, "REN a;b"),
        "Nom de chaîne invalide : caractère ';' interdit (lettres, chiffres, _ et - seulement)\n"
    );
    assert_eq!(
        s.reply(a, "REN salon"),
        "Votre chaîne a bien été renommée\n"
    );
    assert_eq!(s.take(b), "Votre chaîne est renommée salon\n");
    assert_eq!(s.take(c), "");
    assert_eq!(s.reply(b, "CURRENT"), "Votre chaîne actuelle est: salon\n");
    assert_eq!(
        s.reply(b, "LIST"),
        "Les chaînes en cours sont: salon chan2\n"
    );
    // The old name is free again.
    assert_eq!(
        s.reply(c, "JOIN chan1"),
        "Vous avez créé la chaîne chan1, vous en êtes l'administrateur\n"
    );
    // Several channels, one current.
    s.set_up(&[(b, "JOIN chan2")]);
    assert_eq!(s.reply(b, "CURRENT"), "Votre chaîne actuelle est: chan2\n");
    assert_eq!(
        s.reply(b, "CURRENT salon"),
        "Votre chaîne actuelle est: salon\n"
    );
    s.line(b, "messageici salon");
    assert_eq!(s.take(a), "bob: ici salon\n");
    assert_eq!(s.take(c), "");
    assert_eq!(
        s.reply(b, "CURRENT chan1"),
        "Vous n'êtes pas dans cette chaîne\n"
    );
    assert_eq!(
        s.reply(b, "CURRENT nulle"),
        "Vous n'êtes pas dans cette chaîne\n"
    );
    let d = s.project("dave");
    assert_eq!(
        s.reply(d, "CURRENT"),
        "Vous n'avez pas de chaîne actuellement\n"
    );
}

#[test]
fn nickname_changes() {
    let mut s = Sim::new();
    let [a, b, c] = s.projects(["alice", "bob", "carol"]);
    for id in [a, b] {
        s.line(id, "JOIN chan1");
        s.line(id, "JOIN chan2");
    }
    s.take_all();
    assert_eq!(s.reply(a, "NICK bob"), "Nickname déjà utilisé\n");
    assert_eq!(s.reply(a, "NICK CAROL"), "Nickname déjà utilisé\n");
    assert_eq!(
        s.reply(a, "NICK é!"),
        "Pseudonyme invalide : caractère '!' interdit (lettres, chiffres, _ et - seulement)\n"
    );
    assert_eq!(
        s.reply(a, "NICK alicia"),
        "Votre identifiant est bien mis à jour\n"
    );
    assert_eq!(
        s.take(b),
        "alice s'appelle maintenant alicia\n",
        "told once"
    );
    assert_eq!(s.take(c), "");
    assert_eq!(s.reply(b, "WHO"), "Liste des adhérents:\n@alicia@\n");
    // The old name is free; a change of case of one's own name is allowed.
    assert_eq!(s.reply(c, "NICK alice"), NICK_UPDATED);
    assert_eq!(s.reply(a, "NICK Alicia"), NICK_UPDATED);
}

#[test]
fn grant_and_revoke() {
    let mut s = Sim::new();
    let [a, b, c, d] = s.projects(["alice", "bob", "carol", "dave"]);
    s.set_up(&[(a, "JOIN chan1"), (b, "JOIN chan1"), (c, "JOIN chan1")]);
    assert_eq!(
        s.reply(b, "GRANT carol"),
        "Seul l'administrateur principal de la chaîne peut utiliser cette commande\n"
    );
    assert_eq!(s.reply(a, "GRANT zoe"), "Utilisateur inconnu : zoe\n");
    assert_eq!(
        s.reply(a, "GRANT dave"),
        "dave n'est pas dans cette chaîne\n"
    );
    s.line(a, "GRANT bob");
    assert_eq!(
        s.take(b),
        "Vous avez reçu de alice les privilèges d'un administrateur\n"
    );
    assert_eq!(
        s.take(a),
        "bob est maintenant administrateur de la chaîne\n"
    );
    assert_eq!(s.take(c), "");
    assert_eq!(
        s.reply(a, "GRANT bob"),
        "bob est déjà administrateur de la chaîne\n"
    );
    assert_eq!(
        s.reply(a, "GRANT alice"),
        "alice est déjà administrateur de la chaîne\n"
    );
    assert_eq!(s.reply(c, "WHO"), "Liste des adhérents:\n@alice@\n@bob@\n");
    // A granted admin may rename, not grant.
    assert_eq!(s.reply(b, "GRANT carol"), NOT_MAIN_ADMIN);
    assert_eq!(s.reply(b, "REN salon"), RENAMED_OK);
    s.take_all();
    assert_eq!(
        s.reply(a, "REVOKE carol"),
        "carol n'est pas administrateur de la chaîne\n"
    );
    assert_eq!(
        s.reply(a, "REVOKE alice"),
        "Vous ne pouvez pas retirer vos propres privilèges d'administrateur principal\n"
    );
    s.line(a, "REVOKE bob");
    assert_eq!(
        s.take(b),
        "Oups, vos privilèges d'administrateur ont été retirés par alice\n"
    );
    assert_eq!(s.take(a), "bob n'est plus administrateur de la chaîne\n");
    assert_eq!(s.reply(b, "KICK carol"), NOT_ADMIN);
    // A granted admin who leaves loses the right; the main admin's heir is
    // the longest present, granted or not.
    s.line(a, "GRANT carol");
    s.line(c, "LEAVE");
    s.line(c, "JOIN salon");
    assert!(s.hub.channel("salon").unwrap().granted.is_empty());
    s.take_all();
    s.line(a, "LEAVE");
    assert_eq!(
        s.take(b),
        "alice est parti\nVous êtes le nouvel administrateur de la chaîne salon\n"
    );
    let _ = d;
}

#[test]
fn history_keeps_the_last_fifty_with_their_time() {
    let mut s = Sim::new();
    let [a, b] = s.projects(["alice", "bob"]);
    s.set_up(&[(a, "JOIN chan1")]);
    assert_eq!(s.reply(a, "HISTORY"), "Aucun message dans cette chaîne\n");
    s.line(b, "JOIN chan1");
    s.line(a, "messagebonjour");
    s.advance(61_000);
    s.line(b, "messagesalut \u{1b}");
    assert_eq!(
        s.reply(b, "HISTORY"),
        "Vous avez rejoint la chaîne chan1\nalice: bonjour\nHistorique de la chaîne chan1:\n[12:00:00] alice: bonjour\n[12:01:01] bob: salut \\x1b\n"
    );
    let mut s = Sim::with_flood(Flood::relaxed());
    let [a, b] = s.projects(["alice", "bob"]);
    s.line(a, "JOIN c");
    s.line(b, "JOIN c");
    for i in 0..55 {
        s.line(a, &format!("message{i}"));
    }
    s.take_all();
    let got = s.reply(b, "HISTORY");
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 51);
    assert_eq!(lines[1], "[12:00:00] alice: 5");
    assert_eq!(lines[50], "[12:00:00] alice: 54");
}

#[test]
fn kill_bye_and_abrupt_disconnects() {
    let mut s = Sim::new();
    let [a, b, c, d] = s.three_in_chan1_and_dave_in_chan2();
    assert_eq!(s.reply(b, "KILL carol"), NOT_MAIN_ADMIN);
    assert_eq!(
        s.reply(a, "KILL alice"),
        "Utilisez la commande /BYE pour vous déconnecter\n"
    );
    assert_eq!(
        s.reply(a, "KILL dave"),
        "dave n'est pas dans cette chaîne\n"
    );
    s.line(a, "KILL bob");
    assert_eq!(s.take(b), "alice vous a déconnecté du serveur\n");
    assert!(s.closed.contains(&b));
    assert_eq!(
        s.take(a),
        "bob est parti\nbob a été déconnecté du serveur\n"
    );
    assert_eq!(s.take(c), "bob est parti\n");
    // The reader then sees the end of the stream: nothing more happens.
    s.disconnect(b);
    assert_eq!(s.take(a), "");
    // BYE: the others are told, the admin's channel is handed over.
    s.line(a, "BYE");
    assert!(s.closed.contains(&a));
    assert_eq!(
        s.take(c),
        "alice est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n"
    );
    // An abrupt disconnect is the same; the last one out empties the channel.
    s.disconnect(c);
    assert_eq!(s.hub.channel_names(), ["chan2"]);
    assert_eq!(s.hub.nicks(), ["dave"]);
    // Names are free again.
    let e = s.connect();
    assert!(s.reply(e, "messagealice").ends_with(&welcome("alice")));
    // A line from a client the hub already dropped is ignored.
    s.line(a, "messagefantôme");
    assert_eq!(s.take(d), "");
}

#[test]
fn one_client_may_be_in_twenty_channels() {
    let mut s = Sim::new();
    let [a, b] = s.projects(["alice", "bob"]);
    s.line(b, "JOIN existe");
    for i in 0..20 {
        s.line(a, &format!("JOIN c{i}"));
    }
    s.take_all();
    assert_eq!(s.reply(a, "JOIN c20"), TOO_MANY_CHANNELS);
    assert_eq!(s.reply(a, "JOIN existe"), TOO_MANY_CHANNELS);
    let i = s.irc("irene");
    for n in 0..20 {
        s.line(i, &format!("JOIN #c{n}"));
    }
    s.take_all();
    assert_eq!(
        s.reply(i, "JOIN #c20"),
        ":irc_server 405 irene #c20 :Vous êtes déjà dans 20 chaînes : quittez-en une avant d'en rejoindre une autre\r\n"
    );
    assert_eq!(s.hub.channel_names().len(), 21);
}

#[test]
fn unknown_commands_bad_syntax_and_long_lines() {
    let mut s = Sim::new();
    let a = s.project("alice");
    assert_eq!(
        s.reply(a, "FOO bar"),
        "Commande inconnue : FOO (tapez /HELP pour la liste des commandes)\n"
    );
    assert_eq!(
        s.reply(a, "JOIN"),
        "Commande mal formée, la syntaxe est : /JOIN <chaîne>\n"
    );
    assert_eq!(
        s.reply(a, "JOIN a b"),
        "Commande mal formée, la syntaxe est : /JOIN <chaîne>\n"
    );
    assert_eq!(
        s.reply(a, "LIST x"),
        "Commande mal formée, la syntaxe est : /LIST\n"
    );
    assert_eq!(s.reply(a, ""), "");
    // The report's client cannot send a file: the line lacks size and hash.
    assert_eq!(
        s.reply(a, "SEND bob f.txt"),
        "Commande mal formée, la syntaxe est : SEND <pseudo> <taille> <empreinte> <fichier>\n"
    );
    s.event(crate::Event::TooLong { id: a });
    assert_eq!(
        s.take(a),
        "Ligne trop longue (4096 octets au plus) : elle est ignorée\n"
    );
    // Invalid UTF-8 is read leniently, never a crash.
    s.event(crate::Event::Line {
        id: a,
        line: b"JOIN \xff".to_vec(),
    });
    assert!(s.take(a).starts_with("Nom de chaîne invalide"));
}

#[test]
fn flood_control_queues_then_disconnects() {
    let mut s = Sim::with_flood(Flood::default());
    let [a, b] = s.projects(["alice", "bob"]);
    s.line(a, "JOIN c");
    s.line(b, "JOIN c");
    s.advance(10_000);
    s.take_all();
    for i in 0..12 {
        s.line(a, &format!("message{i}"));
    }
    let got = s.take(b);
    assert_eq!(got.lines().count(), 10, "the burst: {got}");
    s.advance(250);
    s.event(crate::Event::Tick);
    assert_eq!(s.take(b), "alice: 10\n");
    s.advance(250);
    s.event(crate::Event::Tick);
    assert_eq!(s.take(b), "alice: 11\n");
    // Bob is not slowed down by Alice.
    s.line(b, "messagemoi aussi");
    assert_eq!(s.take(a), "bob: moi aussi\n");
    // More than the queue holds: disconnected.
    for i in 0..60 {
        s.line(a, &format!("message{i}"));
    }
    assert!(s.closed.contains(&a));
    assert!(s
        .take(a)
        .ends_with("Vous envoyez trop de lignes trop vite : déconnexion (Excess Flood)\n"));
    assert!(s
        .take(b)
        .ends_with("alice est parti\nVous êtes le nouvel administrateur de la chaîne c\n"));
}
