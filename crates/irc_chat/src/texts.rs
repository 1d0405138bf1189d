//! Every sentence the server sends to a client of the project's protocol,
//! in one place (`exercises.md` lists them). The report's wordings are kept,
//! with their spelling fixed (`chaine` -> `chaîne`, `adherents` ->
//! `adhérents`, `le nouveau administrateur` -> `le nouvel administrateur`),
//! and every line ends with `\n`.

use protocols::chat_irc_file::{FileNameError, MAX_FILE_SIZE};
use protocols::irc_text::NameError;

use crate::hub::Refusal;

pub const CONNECTED: &str = "Vous êtes connecté\n";
pub const CHOOSE_NICK: &str =
    "Choisissez un pseudonyme (1 à 32 lettres, chiffres, _ ou -) ou tapez /BYE pour partir\n";
pub const REGISTRATION_TIMEOUT: &str = "Aucun pseudonyme choisi en 60 secondes : déconnexion\n";
pub const NICK_TAKEN: &str = "Nickname déjà utilisé\n";

/// The report's HELP, in its format, with every command this server runs.
pub const HELP: &str = "\
* /HELP: affiche ce message
* /LIST: liste les chaînes du serveur
* /JOIN <chaîne>: rejoint (ou crée) une chaîne
* /LEAVE: quitte la chaîne actuelle
* /WHO: liste les membres de la chaîne actuelle
* <message>: envoie un message dans la chaîne actuelle
* /MSG <pseudo> <message>: envoie un message privé dans la chaîne actuelle
* /BYE: se déconnecte du serveur
* /KICK <pseudo>: retire un membre de la chaîne actuelle [admin]
* /REN <chaîne>: renomme la chaîne actuelle [admin]
* /CURRENT: affiche la chaîne actuelle
* /CURRENT <chaîne>: choisit la chaîne actuelle
* /MSG <pseudo1;pseudo2;...> <message>: envoie un message privé à plusieurs membres de la chaîne actuelle
* /NICK <pseudo>: change de pseudonyme sur le serveur
* /GRANT <pseudo>: donne les droits d'administrateur [admin principal]
* /REVOKE <pseudo>: retire les droits d'administrateur [admin principal]
* /HISTORY: affiche les 50 derniers messages de la chaîne actuelle
* /SEND <pseudo> <fichier>: propose un fichier (100 Mio au plus) à un utilisateur
* /RECV <pseudo> [<dossier>]: accepte le fichier proposé par un utilisateur (dans le dossier indiqué)
* /KILL <pseudo>: déconnecte du serveur un membre de la chaîne actuelle [admin principal]
";

pub const NO_CHANNELS: &str = "Il n'y a pas de chaînes en cours\n";
pub const ALREADY_IN: &str = "Vous êtes déjà dans cette chaîne\n";
pub const LEFT_TO_LOBBY: &str = "Vous n'êtes plus dans la chaîne.\nRejoignez une autre chaîne.\nFaites la commande /HELP pour plus d'aide.\n";
pub const TOO_MANY_CHANNELS: &str =
    "Vous êtes déjà dans 20 chaînes : quittez-en une avant d'en rejoindre une autre\n";
pub const ALONE: &str = "Vous êtes seul(e) dans cette chaîne\n";
pub const NO_CURRENT: &str = "Vous n'avez pas de chaîne actuellement\n";
pub const NOT_IN_THAT_CHANNEL: &str = "Vous n'êtes pas dans cette chaîne\n";
pub const NOT_ADMIN: &str = "Calme-toi, tu n'es pas l'administrateur de la chaîne\n";
pub const NOT_MAIN_ADMIN: &str =
    "Seul l'administrateur principal de la chaîne peut utiliser cette commande\n";
pub const KICK_SELF: &str = "Utilisez la commande /LEAVE pour quitter la chaîne\n";
pub const KICK_ADMIN: &str = "Vous ne pouvez pas retirer un administrateur de la chaîne\n";
pub const CHANNEL_EXISTS: &str = "Cette chaîne existe déjà\n";
pub const RENAMED_OK: &str = "Votre chaîne a bien été renommée\n";
pub const NICK_UPDATED: &str = "Votre identifiant est bien mis à jour\n";
pub const REVOKE_SELF: &str =
    "Vous ne pouvez pas retirer vos propres privilèges d'administrateur principal\n";
pub const KILL_SELF: &str = "Utilisez la commande /BYE pour vous déconnecter\n";
pub const NO_HISTORY: &str = "Aucun message dans cette chaîne\n";
pub const EMPTY_MESSAGE: &str = "Message vide : rien n'a été envoyé\n";
pub const TOO_LONG: &str = "Ligne trop longue (4096 octets au plus) : elle est ignorée\n";
pub const FLOOD: &str = "Vous envoyez trop de lignes trop vite : déconnexion (Excess Flood)\n";
pub const SEND_TO_SELF: &str = "Vous ne pouvez pas vous envoyer un fichier à vous-même\n";
pub const TOO_MANY_OFFERS: &str =
    "Vous proposez déjà 20 fichiers : attendez qu'ils soient acceptés ou partez\n";

// ----- file transfer (SEND / RECV, see `crate::files`) -----

/// To the recipient of an offer.
pub fn offered_you(from: &str, file: &str, size: u64) -> String {
    format!(
        "{from} vous propose le fichier {file} ({size} octets) : /RECV {from} pour l'accepter\n"
    )
}

/// To the sender of an offer.
pub fn offer_sent(to: &str, file: &str, size: u64) -> String {
    format!("Fichier {file} proposé à {to} ({size} octets) : en attente de son accord\n")
}

pub fn bad_file_name(e: &FileNameError) -> String {
    format!("Nom de fichier invalide : {e}\n")
}

pub fn file_too_big(size: u64) -> String {
    format!("Fichier trop gros : {size} octets, {MAX_FILE_SIZE} (100 Mio) au plus\n")
}

pub fn no_offer(nick: &str) -> String {
    format!("{nick} ne vous propose aucun fichier\n")
}

pub fn irc_peer(nick: &str) -> String {
    format!("{nick} utilise un client IRC, qui ne peut pas échanger de fichiers\n")
}

/// What the server writes on a data connection that cannot go on: the
/// line starts with [`protocols::chat_irc_file::ERROR_PREFIX`].
pub mod data {
    pub const BAD_FIRST_LINE: &str = "ERREUR Première ligne attendue : FICHIER <jeton>\n";
    pub const UNKNOWN_TOKEN: &str = "ERREUR Jeton de transfert inconnu, déjà utilisé ou expiré\n";
    pub const PEER_LATE: &str = "ERREUR L'autre partie ne s'est pas connectée à temps\n";
    pub const SENDER_STOPPED: &str =
        "ERREUR Transfert interrompu : l'expéditeur n'envoie plus rien\n";
    pub const RECEIVER_GONE: &str =
        "ERREUR Transfert interrompu : le destinataire ne reçoit plus\n";
    pub const NO_VERDICT: &str = "ERREUR Le destinataire n'a pas confirmé la réception\n";
    pub const SERVER_STOPPING: &str = "ERREUR Arrêt du serveur\n";
}

pub fn welcome(nick: &str) -> String {
    format!("Bienvenue {nick} ! Tapez /HELP pour la liste des commandes\n")
}

pub fn invalid_nick(e: &NameError) -> String {
    format!("Pseudonyme invalide : {e}\n")
}

pub fn invalid_channel(e: &NameError) -> String {
    format!("Nom de chaîne invalide : {e}\n")
}

pub fn channels<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from("Les chaînes en cours sont:");
    for n in names {
        s.push(' ');
        s.push_str(n);
    }
    s.push('\n');
    s
}

pub fn created(chan: &str) -> String {
    format!("Vous avez créé la chaîne {chan}, vous en êtes l'administrateur\n")
}

pub fn joined(chan: &str) -> String {
    format!("Vous avez rejoint la chaîne {chan}\n")
}

pub fn someone_joined(nick: &str, chan: &str) -> String {
    format!("{nick} a rejoint la chaîne {chan}\n")
}

pub fn gone(nick: &str) -> String {
    format!("{nick} est parti\n")
}

pub fn left_now_in(chan: &str) -> String {
    format!("Vous n'êtes plus dans la chaîne.\nVotre chaîne actuelle est: {chan}\n")
}

pub fn new_admin(chan: &str) -> String {
    format!("Vous êtes le nouvel administrateur de la chaîne {chan}\n")
}

/// WHO: the others, admins as `@nick@`.
pub fn members<'a>(list: impl Iterator<Item = (&'a str, bool)>) -> String {
    let mut s = String::from("Liste des adhérents:\n");
    for (nick, admin) in list {
        if admin {
            s.push('@');
            s.push_str(nick);
            s.push_str("@\n");
        } else {
            s.push_str(nick);
            s.push('\n');
        }
    }
    s
}

pub fn said(nick: &str, text: &str) -> String {
    format!("{nick}: {text}\n")
}

/// An IRC `/me` (CTCP ACTION), as a project client shows it.
pub fn action(nick: &str, text: &str) -> String {
    format!("* {nick} {text}\n")
}

pub fn private(nick: &str, text: &str) -> String {
    format!("Message privé de {nick} : {text}\n")
}

pub fn current(chan: &str) -> String {
    format!("Votre chaîne actuelle est: {chan}\n")
}

pub fn not_in_channel(nick: &str) -> String {
    format!("{nick} n'est pas dans cette chaîne\n")
}

pub fn unknown_user(nick: &str) -> String {
    format!("Utilisateur inconnu : {nick}\n")
}

pub fn kicked_you(by: &str, chan: &str) -> String {
    format!("{by} vous a retiré de la chaîne {chan}\n")
}

pub fn kicked(nick: &str, by: &str) -> String {
    format!("{nick} a été retiré de la chaîne par {by}\n")
}

pub fn renamed(new: &str) -> String {
    format!("Votre chaîne est renommée {new}\n")
}

pub fn nick_changed(old: &str, new: &str) -> String {
    format!("{old} s'appelle maintenant {new}\n")
}

pub fn granted_you(by: &str) -> String {
    format!("Vous avez reçu de {by} les privilèges d'un administrateur\n")
}

pub fn granted(nick: &str) -> String {
    format!("{nick} est maintenant administrateur de la chaîne\n")
}

pub fn already_admin(nick: &str) -> String {
    format!("{nick} est déjà administrateur de la chaîne\n")
}

pub fn revoked_you(by: &str) -> String {
    format!("Oups, vos privilèges d'administrateur ont été retirés par {by}\n")
}

pub fn revoked(nick: &str) -> String {
    format!("{nick} n'est plus administrateur de la chaîne\n")
}

pub fn not_admin_nick(nick: &str) -> String {
    format!("{nick} n'est pas administrateur de la chaîne\n")
}

pub fn killed_you(by: &str) -> String {
    format!("{by} vous a déconnecté du serveur\n")
}

pub fn killed(nick: &str) -> String {
    format!("{nick} a été déconnecté du serveur\n")
}

pub fn history_head(chan: &str) -> String {
    format!("Historique de la chaîne {chan}:\n")
}

pub fn history_line(time: &str, line: &str) -> String {
    format!("[{time}] {line}")
}

pub fn topic_changed(nick: &str, topic: &str) -> String {
    format!("{nick} a changé le sujet de la chaîne : {topic}\n")
}

pub fn unknown_command(word: &str) -> String {
    format!("Commande inconnue : {word} (tapez /HELP pour la liste des commandes)\n")
}

pub fn usage(usage: &str) -> String {
    format!("Commande mal formée, la syntaxe est : {usage}\n")
}

/// The sentence for a refused command.
pub fn refusal(r: &Refusal) -> String {
    match r {
        Refusal::NoCurrent => NO_CURRENT.into(),
        Refusal::NotMember => NOT_IN_THAT_CHANNEL.into(),
        Refusal::NotAdmin => NOT_ADMIN.into(),
        Refusal::NotMainAdmin => NOT_MAIN_ADMIN.into(),
        Refusal::UnknownUser(n) => unknown_user(n),
        Refusal::NotInChannel(n) => not_in_channel(n),
        Refusal::KickSelf => KICK_SELF.into(),
        Refusal::KickAdmin => KICK_ADMIN.into(),
        Refusal::AlreadyAdmin(n) => already_admin(n),
        Refusal::NotAdminNick(n) => not_admin_nick(n),
        Refusal::RevokeSelf => REVOKE_SELF.into(),
        Refusal::KillSelf => KILL_SELF.into(),
        Refusal::NickTaken => NICK_TAKEN.into(),
        Refusal::BadNick(e) => invalid_nick(e),
        Refusal::BadChannel(e) => invalid_channel(e),
        Refusal::ChannelExists => CHANNEL_EXISTS.into(),
        Refusal::Alone => ALONE.into(),
        Refusal::EmptyMessage => EMPTY_MESSAGE.into(),
        Refusal::AlreadyIn => ALREADY_IN.into(),
        Refusal::TooManyChannels => TOO_MANY_CHANNELS.into(),
        Refusal::SendToSelf => SEND_TO_SELF.into(),
        Refusal::BadFileName(e) => bad_file_name(e),
        Refusal::FileTooBig(n) => file_too_big(*n),
        Refusal::NoOffer(n) => no_offer(n),
        Refusal::IrcPeer(n) => irc_peer(n),
        Refusal::TooManyOffers => TOO_MANY_OFFERS.into(),
    }
}

/// What `irc_client` itself prints about its transfers (one line each, the
/// `\n` added when printed).
pub mod client {
    use protocols::chat_irc_file::FileNameError;

    pub const CLOSED: &str = "connexion fermée par le serveur";
    pub const SHRUNK: &str = "le fichier a raccourci depuis qu'il a été proposé";
    pub const DAMAGED: &str = "le fichier reçu ne correspond pas à l'empreinte annoncée";

    pub fn send_usage() -> String {
        "Syntaxe : /SEND <pseudo> <fichier>".into()
    }

    pub fn recv_usage() -> String {
        "Syntaxe : /RECV <pseudo> [<dossier>]".into()
    }

    pub fn unreadable(path: &str, e: &std::io::Error) -> String {
        format!("Impossible de lire {path} : {e}")
    }

    pub fn not_a_folder(path: &str) -> String {
        format!("{path} n'est pas un dossier")
    }

    pub fn not_offered(file: &str) -> String {
        format!("Le serveur demande {file}, que vous n'avez pas proposé : ignoré")
    }

    pub fn sending(file: &str, peer: &str, size: u64) -> String {
        format!("Envoi de {file} à {peer} ({size} octets)...")
    }

    pub fn sent(file: &str, peer: &str) -> String {
        format!("Fichier {file} reçu intact par {peer}")
    }

    pub fn send_failed(file: &str, peer: &str, why: &str) -> String {
        format!("Échec de l'envoi de {file} à {peer} : {why}")
    }

    pub fn receiving(file: &str, peer: &str, size: u64, path: &str) -> String {
        format!("Réception de {file} de {peer} ({size} octets) dans {path}...")
    }

    pub fn received(file: &str, peer: &str, path: &str, size: u64) -> String {
        format!("Fichier {file} reçu de {peer} : {path} ({size} octets, empreinte vérifiée)")
    }

    pub fn receive_failed(file: &str, peer: &str, why: &str) -> String {
        format!("Échec de la réception de {file} de {peer} : {why}")
    }

    pub fn cut(got: u64, size: u64) -> String {
        format!("transfert interrompu, {got} octets reçus sur {size}")
    }

    pub fn bad_name(e: &FileNameError) -> String {
        format!("nom de fichier refusé ({e})")
    }
}
