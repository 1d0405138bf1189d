//! IRC mode: registration, the commands of the subset, and an IRC client
//! and a client of the project's protocol in the same channel.

use super::Sim;
use crate::Event;

const A: &str = "alice!alice@127.0.0.1";

#[test]
fn registration_with_capability_negotiation() {
    let mut s = Sim::new();
    let a = s.connect();
    assert_eq!(s.reply(a, "CAP LS 302"), ":irc_server CAP * LS :\r\n");
    s.line(a, "NICK alice");
    assert_eq!(
        s.reply(a, "USER alice 0 * :Alice Liddell"),
        "",
        "registration waits for CAP END"
    );
    assert_eq!(
        s.reply(a, "CAP REQ :multi-prefix"),
        ":irc_server CAP alice NAK multi-prefix\r\n"
    );
    // No French greeting ever reaches an IRC client.
    s.advance(1_000);
    s.event(Event::Tick);
    assert_eq!(s.take(a), "");
    let got = s.reply(a, "CAP END");
    let lines: Vec<&str> = got.split_inclusive("\r\n").collect();
    assert_eq!(
        lines[0],
        ":irc_server 001 alice :Bienvenue sur le tchat IRC alice!alice@127.0.0.1\r\n"
    );
    assert!(lines[1]
        .starts_with(":irc_server 002 alice :Votre serveur est irc_server, version irc_chat-"));
    assert_eq!(
        lines[2],
        ":irc_server 003 alice :Ce serveur a démarré à 12:00:00\r\n"
    );
    assert!(lines[3].starts_with(":irc_server 004 alice irc_server irc_chat-"));
    assert!(lines[4].starts_with(":irc_server 005 alice CHANTYPES=# PREFIX=(o)@ "));
    assert_eq!(
        lines[5],
        ":irc_server 422 alice :Pas de message du jour\r\n"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(
        s.reply(a, "PING :tok 1"),
        ":irc_server PONG irc_server :tok 1\r\n"
    );
    assert_eq!(
        s.reply(a, "USER x 0 * :x"),
        ":irc_server 462 alice :Vous êtes déjà enregistré\r\n"
    );
    assert_eq!(
        s.reply(a, "WHOIS bob"),
        ":irc_server 421 alice WHOIS :Commande inconnue\r\n"
    );
}

#[test]
fn nick_refusals_and_commands_before_registration() {
    let mut s = Sim::new();
    let _b = s.project("bob");
    let a = s.connect();
    assert_eq!(
        s.reply(a, "USER alice"),
        ":irc_server 461 * USER :Paramètres manquants\r\n"
    );
    assert_eq!(
        s.reply(a, "JOIN #c"),
        ":irc_server 451 * :Vous n'êtes pas enregistré\r\n"
    );
    assert_eq!(
        s.reply(a, "NICK Bob"),
        ":irc_server 433 * Bob :Nickname déjà utilisé\r\n"
    );
    assert_eq!(
        s.reply(a, "NICK a#b"),
        ":irc_server 432 * a#b :Pseudonyme invalide : caractère '#' interdit (lettres, chiffres, _ et - seulement)\r\n"
    );
    assert_eq!(
        s.reply(a, "NICK"),
        ":irc_server 431 * :Pas de pseudonyme donné\r\n"
    );
    s.line(a, "NICK alice");
    assert!(s.reply(a, "USER ~al\u{1b}ice 0 * :Alice").starts_with(
        ":irc_server 001 alice :Bienvenue sur le tchat IRC alice!~alice@127.0.0.1\r\n"
    ));
    assert_eq!(
        s.reply(a, &format!("PRIVMSG #c :{}", "x".repeat(500))),
        ":irc_server 417 alice :Ligne trop longue (512 octets au plus)\r\n"
    );
    s.event(Event::TooLong { id: a });
    assert_eq!(
        s.take(a),
        ":irc_server 417 alice :Ligne trop longue (512 octets au plus)\r\n"
    );
}

#[test]
fn an_irc_user_and_a_project_user_in_the_same_channel() {
    let mut s = Sim::new();
    let a = s.irc("alice");
    let b = s.project("bob");
    assert_eq!(
        s.reply(a, "JOIN #chan1"),
        format!(
            ":{A} JOIN #chan1\r\n:irc_server 353 alice = #chan1 :@alice\r\n:irc_server 366 alice #chan1 :Fin de la liste /NAMES\r\n"
        )
    );
    assert_eq!(
        s.reply(b, "JOIN chan1"),
        "Vous avez rejoint la chaîne chan1\n"
    );
    assert_eq!(s.take(a), ":bob!bob@127.0.0.1 JOIN #chan1\r\n");
    s.line(b, "messagesalut alice");
    assert_eq!(
        s.take(a),
        ":bob!bob@127.0.0.1 PRIVMSG #chan1 :salut alice\r\n"
    );
    s.line(a, "PRIVMSG #chan1 :coucou bob");
    assert_eq!(s.take(b), "alice: coucou bob\n");
    assert_eq!(s.take(a), "", "no echo to the sender");
    s.line(a, "PRIVMSG #chan1 :\u{1}ACTION fait signe\u{1}");
    assert_eq!(s.take(b), "* alice fait signe\n");
    s.line(a, "PRIVMSG #chan1 :\u{2}gras\u{2} \u{1b}[2J");
    assert_eq!(s.take(b), "alice: \\x02gras\\x02 \\x1b[2J\n");
    s.line(b, "message\u{2}gras\u{2} \u{1b}[2J");
    assert_eq!(
        s.take(a),
        ":bob!bob@127.0.0.1 PRIVMSG #chan1 :\u{2}gras\u{2} \\x1b[2J\r\n",
        "IRC formatting kept for IRC clients, terminal escapes never"
    );
    s.line(a, "PRIVMSG bob :psst");
    assert_eq!(s.take(b), "Message privé de alice : psst\n");
    s.line(b, "MSG alice chut");
    assert_eq!(s.take(a), ":bob!bob@127.0.0.1 PRIVMSG alice :chut\r\n");
    s.line(a, "NOTICE #chan1 :annonce");
    assert_eq!(s.take(b), "alice: annonce\n");
    assert_eq!(s.reply(b, "WHO"), "Liste des adhérents:\n@alice@\n");
    assert_eq!(
        s.reply(a, "NAMES #chan1"),
        ":irc_server 353 alice = #chan1 :@alice bob\r\n:irc_server 366 alice #chan1 :Fin de la liste /NAMES\r\n"
    );
    assert_eq!(
        s.reply(b, "HISTORY"),
        "Historique de la chaîne chan1:\n[12:00:00] bob: salut alice\n[12:00:00] alice: coucou bob\n[12:00:00] * alice fait signe\n[12:00:00] alice: \\x02gras\\x02 \\x1b[2J\n[12:00:00] bob: \\x02gras\\x02 \\x1b[2J\n"
    );
    // The IRC admin leaves: the project user inherits the channel.
    assert_eq!(
        s.reply(a, "PART #chan1 :à plus"),
        format!(":{A} PART #chan1 :à plus\r\n")
    );
    assert_eq!(
        s.take(b),
        "alice est parti\nVous êtes le nouvel administrateur de la chaîne chan1\n"
    );
    s.line(a, "JOIN #chan1");
    s.take(a);
    assert_eq!(s.take(b), "alice a rejoint la chaîne chan1\n");
    // The project user leaves: the IRC user sees a PART and a MODE +o.
    s.line(b, "LEAVE");
    assert_eq!(
        s.take(a),
        ":bob!bob@127.0.0.1 PART #chan1 :LEAVE\r\n:irc_server MODE #chan1 +o alice\r\n"
    );
}

#[test]
fn errors_of_privmsg_part_and_join() {
    let mut s = Sim::new();
    let a = s.irc("alice");
    let b = s.irc("bob");
    s.set_up(&[(b, "JOIN #b")]);
    assert_eq!(
        s.reply(a, "PRIVMSG"),
        ":irc_server 411 alice :Pas de destinataire (PRIVMSG)\r\n"
    );
    assert_eq!(
        s.reply(a, "PRIVMSG #b"),
        ":irc_server 412 alice :Pas de texte à envoyer\r\n"
    );
    assert_eq!(
        s.reply(a, "PRIVMSG #b :hé"),
        ":irc_server 404 alice #b :Vous n'êtes pas dans cette chaîne\r\n"
    );
    assert_eq!(
        s.reply(a, "PRIVMSG #zz :hé"),
        ":irc_server 401 alice #zz :Chaîne inconnue\r\n"
    );
    assert_eq!(
        s.reply(a, "PRIVMSG zoe :hé"),
        ":irc_server 401 alice zoe :Utilisateur inconnu : zoe\r\n"
    );
    assert_eq!(
        s.reply(a, "NOTICE zoe :hé"),
        "",
        "no error answers a NOTICE"
    );
    assert_eq!(
        s.reply(a, "PART #b"),
        ":irc_server 442 alice #b :Vous n'êtes pas dans cette chaîne\r\n"
    );
    assert_eq!(
        s.reply(a, "PART #zz"),
        ":irc_server 403 alice #zz :Chaîne inconnue\r\n"
    );
    assert_eq!(
        s.reply(a, "JOIN sans_diese"),
        ":irc_server 403 alice sans_diese :Nom de chaîne invalide : nom vide\r\n"
    );
    let got = s.reply(a, "JOIN #a,#b");
    assert!(
        got.contains(&format!(":{A} JOIN #a\r\n")) && got.contains(&format!(":{A} JOIN #b\r\n"))
    );
    assert!(
        got.contains(":irc_server 353 alice = #b :@bob alice\r\n"),
        "{got}"
    );
    assert_eq!(
        s.reply(a, "JOIN #b"),
        "",
        "joining again is silently ignored"
    );
    s.line(a, "JOIN 0");
    assert_eq!(s.hub.channel_names(), ["b"]);
    assert_eq!(
        s.take(b),
        format!(":{A} JOIN #b\r\n:{A} PART #b :alice\r\n")
    );
}

#[test]
fn modes_kicks_and_topic_across_protocols() {
    let mut s = Sim::new();
    let a = s.irc("alice");
    let b = s.project("bob");
    let c = s.irc("carol");
    s.set_up(&[(a, "JOIN #c"), (b, "JOIN c"), (c, "JOIN #c")]);
    assert_eq!(s.reply(a, "MODE #c"), ":irc_server 324 alice #c :+\r\n");
    assert_eq!(
        s.reply(a, "MODE #c b"),
        ":irc_server 368 alice #c :Fin de la liste des bannis\r\n"
    );
    assert_eq!(s.reply(a, "MODE alice +i"), ":irc_server 221 alice :+\r\n");
    assert_eq!(
        s.reply(c, "MODE #c +o carol"),
        ":irc_server 482 carol #c :Seul l'administrateur principal de la chaîne peut utiliser cette commande\r\n"
    );
    assert_eq!(
        s.reply(a, "MODE #c +x"),
        ":irc_server 472 alice x :Mode inconnu\r\n"
    );
    // MODE +o is GRANT: the project user is told in French.
    s.line(a, "MODE #c +o bob");
    assert_eq!(
        s.take(b),
        "Vous avez reçu de alice les privilèges d'un administrateur\n"
    );
    assert_eq!(s.take(a), format!(":{A} MODE #c +o bob\r\n"));
    assert_eq!(s.take(c), format!(":{A} MODE #c +o bob\r\n"));
    // GRANT from the project side is MODE +o for IRC clients.
    s.set_up(&[(a, "MODE #c -o bob")]);
    assert_eq!(
        s.reply(c, "KICK #c bob"),
        ":irc_server 482 carol #c :Calme-toi, tu n'es pas l'administrateur de la chaîne\r\n"
    );
    assert_eq!(
        s.reply(a, "KICK #c zoe"),
        ":irc_server 401 alice zoe :Utilisateur inconnu : zoe\r\n"
    );
    s.line(a, "KICK #c bob :du calme");
    assert_eq!(s.take(b), "alice vous a retiré de la chaîne c\n");
    assert_eq!(s.take(c), format!(":{A} KICK #c bob :du calme\r\n"));
    s.set_up(&[(b, "JOIN c")]);
    assert_eq!(
        s.reply(a, "KICK #c alice"),
        ":irc_server 482 alice #c :Utilisez la commande /LEAVE pour quitter la chaîne\r\n"
    );
    // Alice leaves: Carol, present before Bob came back, inherits.
    s.line(a, "PART #c");
    assert_eq!(s.hub.channel("c").unwrap().main_admin, "carol");
    assert_eq!(
        s.take(c),
        format!(":{A} PART #c :alice\r\n:irc_server MODE #c +o carol\r\n")
    );
    s.set_up(&[(c, "MODE #c +o bob")]);
    assert_eq!(
        s.reply(b, "KICK carol"),
        "Vous ne pouvez pas retirer un administrateur de la chaîne\n"
    );
    s.line(c, "KICK #c bob");
    assert_eq!(s.take(b), "carol vous a retiré de la chaîne c\n");
    // The project admin's KICK reaches the IRC victim as a KICK.
    s.set_up(&[(b, "JOIN c"), (c, "PART #c"), (c, "JOIN #c")]);
    s.line(b, "KICK carol");
    assert_eq!(s.take(c), ":bob!bob@127.0.0.1 KICK #c carol :KICK\r\n");
    s.set_up(&[(c, "JOIN #c")]);
    assert_eq!(
        s.reply(c, "TOPIC #c"),
        ":irc_server 331 carol #c :Pas de sujet\r\n"
    );
    assert_eq!(
        s.reply(c, "TOPIC #c :le sujet"),
        ":carol!carol@127.0.0.1 TOPIC #c :le sujet\r\n"
    );
    assert_eq!(
        s.take(b),
        "carol a changé le sujet de la chaîne : le sujet\n"
    );
    assert_eq!(
        s.reply(c, "LIST"),
        ":irc_server 321 carol Channel :Users  Name\r\n:irc_server 322 carol #c 2 :le sujet\r\n:irc_server 323 carol :Fin de /LIST\r\n"
    );
    assert_eq!(
        s.reply(c, "WHO #c"),
        ":irc_server 352 carol #c bob 127.0.0.1 irc_server bob H@ :0 \r\n:irc_server 352 carol #c carol 127.0.0.1 irc_server carol H :0 carol Test\r\n:irc_server 315 carol #c :Fin de la liste /WHO\r\n"
    );
    let d = s.irc("dave");
    s.set_up(&[(d, "JOIN #c")]);
    s.line(d, "JOIN #d");
    assert!(!s.take(d).contains(":irc_server 332 dave #d"));
    s.line(d, "PART #d");
    s.line(d, "PART #c");
    assert!(s
        .reply(d, "JOIN #c")
        .contains(":irc_server 332 dave #c :le sujet\r\n"));
}

#[test]
fn nick_changes_rename_and_quit_across_protocols() {
    let mut s = Sim::new();
    let a = s.irc("alice");
    let b = s.project("bob");
    s.set_up(&[(b, "JOIN c"), (a, "JOIN #c")]);
    assert_eq!(s.reply(a, "NICK alicia"), format!(":{A} NICK alicia\r\n"));
    assert_eq!(s.take(b), "alice s'appelle maintenant alicia\n");
    assert_eq!(
        s.reply(a, "NICK BOB"),
        ":irc_server 433 alicia BOB :Nickname déjà utilisé\r\n"
    );
    s.line(b, "NICK bobby");
    assert_eq!(s.take(a), ":bob!bob@127.0.0.1 NICK bobby\r\n");
    // REN: IRC has no rename, so the IRC client sees PART and JOIN.
    s.take_all();
    assert_eq!(
        s.reply(b, "REN salon"),
        "Votre chaîne a bien été renommée\n"
    );
    assert_eq!(
        s.take(a),
        ":alicia!alice@127.0.0.1 PART #c :renommée en #salon\r\n:alicia!alice@127.0.0.1 JOIN #salon\r\n:irc_server 353 alicia = #salon :@bobby alicia\r\n:irc_server 366 alicia #salon :Fin de la liste /NAMES\r\n"
    );
    assert_eq!(
        s.reply(a, "QUIT :bonne nuit"),
        "ERROR :Closing Link: 127.0.0.1 (Quit: bonne nuit)\r\n"
    );
    assert!(s.closed.contains(&a));
    assert_eq!(s.take(b), "alicia est parti\n");
    // The KILL of an IRC user by a project admin.
    let c = s.irc("carol");
    s.set_up(&[(c, "JOIN #salon")]);
    s.line(b, "KILL carol");
    assert_eq!(
        s.take(c),
        "ERROR :Closing Link: 127.0.0.1 (Killed (bobby))\r\n"
    );
    assert_eq!(
        s.take(b),
        "carol est parti\ncarol a été déconnecté du serveur\n"
    );
    // An abrupt disconnect of an IRC client: a QUIT for the IRC others.
    let d = s.irc("dave");
    let e = s.irc("eve");
    s.set_up(&[(d, "JOIN #salon"), (e, "JOIN #salon")]);
    s.disconnect(d);
    assert_eq!(s.take(e), ":dave!dave@127.0.0.1 QUIT :Connexion perdue\r\n");
    assert_eq!(s.take(b), "dave est parti\n");
}

#[test]
fn long_names_lists_are_split_under_512_bytes() {
    let mut s = Sim::new();
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = s.irc(&format!("utilisateur_{i:02}_{}", "x".repeat(16)));
        s.line(id, "JOIN #grand");
        ids.push(id);
    }
    s.take_all();
    s.line(ids[0], "NAMES #grand");
    let got = s.take(ids[0]);
    let lines: Vec<&str> = got.split_inclusive("\r\n").collect();
    assert!(lines.len() >= 4, "{}", lines.len());
    assert!(lines.iter().all(|l| l.len() <= 512));
    let names: usize = lines
        .iter()
        .filter(|l| l.contains(" 353 "))
        .map(|l| l.rsplit(" :").next().unwrap().split(' ').count())
        .sum();
    assert_eq!(names, 40);
}
