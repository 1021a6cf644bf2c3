//! `dead_letters`: see, inspect and re-drive the stored dead letters (`docs/runbook.md`).
//!
//! ```text
//! dead_letters list    [--consumer NAME] [--id SEQ]...
//! dead_letters show    --id SEQ
//! dead_letters redrive (--all | --consumer NAME | --id SEQ...) [--payload FILE]
//! ```
//!
//! It reads the same variables as fechatter_server: `FECHATTER_NATS_URL`, `FECHATTER_NATS_STREAM`
//! and `FECHATTER_NATS_SUBJECT_PREFIX` (defaults: the local NATS and the default bus), and signs in
//! as NATS user `DEAD_LETTERS_NATS_USER` (default `operator`, the only user of
//! `nats/nats-server.conf` that may read the dead letters and re-publish events) with
//! `DEAD_LETTERS_NATS_PASSWORD` or `DEAD_LETTERS_NATS_PASSWORD_FILE` (none: anonymously, as to a
//! NATS without users). Its own prefix, so running it where a service's credentials are set does
//! not sign it in as that service.

use std::io::Write;
use std::process::ExitCode;

use env_config::Env;
use fechatter_events::EventBus;
use fechatter_events::dead_letters::{self, DeadLetter, Selection};

const USAGE: &str = "usage:
  dead_letters list    [--consumer NAME] [--id SEQ]...
  dead_letters show    --id SEQ
  dead_letters redrive (--all | --consumer NAME | --id SEQ...) [--payload FILE]

NAME is a consumer (bot_assistant) or a service (bot, analytics: all of its consumers); SEQ is a
dead letter's sequence as `list` shows it. `--payload FILE` re-drives one dead letter with FILE's
content as its body (a corrected event). Reads FECHATTER_NATS_URL, FECHATTER_NATS_STREAM and
FECHATTER_NATS_SUBJECT_PREFIX; signs in as DEAD_LETTERS_NATS_USER (operator) with
DEAD_LETTERS_NATS_PASSWORD or DEAD_LETTERS_NATS_PASSWORD_FILE.";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    List(Selection),
    Show(u64),
    Redrive {
        selection: Selection,
        payload: Option<String>,
    },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (verb, rest) = args.split_first().ok_or("no command given")?;
    let mut selection = Selection::default();
    let mut all = false;
    let mut payload = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--consumer" => selection.consumer = Some(value()?),
            "--id" => {
                let id = value()?;
                selection.ids.push(
                    id.parse()
                        .map_err(|_| format!("--id {id}: not a sequence"))?,
                );
            }
            "--payload" => payload = Some(value()?),
            "--all" => all = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    match verb.as_str() {
        "list" | "show" if payload.is_some() => Err("--payload is for redrive".to_owned()),
        "list" => Ok(Command::List(selection)),
        "show" => match selection.ids.as_slice() {
            [id] => Ok(Command::Show(*id)),
            _ => Err("show needs exactly one --id".to_owned()),
        },
        "redrive" => {
            if selection == Selection::default() && !all {
                return Err("redrive needs --all, --consumer or --id".to_owned());
            }
            if payload.is_some() && selection.ids.len() != 1 {
                return Err("--payload re-drives exactly one --id".to_owned());
            }
            Ok(Command::Redrive { selection, payload })
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn preview(letter: &DeadLetter) -> String {
    let text = String::from_utf8_lossy(&letter.payload);
    let flat: String = text.chars().filter(|c| !c.is_control()).take(60).collect();
    flat
}

async fn run(command: Command) -> Result<(), String> {
    let env = Env::from_process("FECHATTER");
    let url = fechatter_events::nats::url_from_env(&env).map_err(|err| err.to_string())?;
    let bus = EventBus::from_env(&env).map_err(|err| err.to_string())?;
    let auth =
        fechatter_events::nats::auth_from_env(&Env::from_process("DEAD_LETTERS"), "operator")
            .map_err(|err| err.to_string())?;
    let client = auth
        .apply(async_nats::ConnectOptions::new())
        .name("dead_letters")
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url.as_str())
        .await
        .map_err(|err| format!("connecting to NATS at {url}: {err}"))?;
    let jetstream = async_nats::jetstream::new(client);
    let mut out = std::io::stdout().lock();
    let write = |err: std::io::Error| err.to_string();
    match command {
        Command::List(selection) => {
            let letters = dead_letters::list(&jetstream, &bus, &selection)
                .await
                .map_err(|err| err.to_string())?;
            writeln!(
                out,
                "{} dead letter(s) in {}",
                letters.len(),
                bus.dead_letter_stream()
            )
            .map_err(write)?;
            for letter in letters {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\tdeliveries={}\t{}\t{}",
                    letter.sequence,
                    letter.stored_at,
                    letter.consumer,
                    letter.original_subject,
                    letter.deliveries,
                    letter.reason,
                    preview(&letter)
                )
                .map_err(write)?;
            }
        }
        Command::Show(id) => {
            let selection = Selection {
                consumer: None,
                ids: vec![id],
            };
            let letters = dead_letters::list(&jetstream, &bus, &selection)
                .await
                .map_err(|err| err.to_string())?;
            let letter = letters.first().ok_or(format!(
                "no dead letter {id} in {}",
                bus.dead_letter_stream()
            ))?;
            writeln!(
                out,
                "sequence: {}\nstored at: {}\nconsumer: {}\noriginal subject: {}\ndeliveries: {}\nreason: {}\n",
                letter.sequence,
                letter.stored_at,
                letter.consumer,
                letter.original_subject,
                letter.deliveries,
                letter.reason
            )
            .map_err(write)?;
            out.write_all(&letter.payload).map_err(write)?;
            writeln!(out).map_err(write)?;
        }
        Command::Redrive { selection, payload } => {
            let replacement = match payload {
                Some(path) => Some(
                    std::fs::read(&path)
                        .map_err(|err| format!("reading {path}: {err}"))?
                        .into(),
                ),
                None => None,
            };
            let redriven = dead_letters::redrive(&jetstream, &bus, &selection, replacement)
                .await
                .map_err(|err| err.to_string())?;
            writeln!(
                out,
                "re-drove {} dead letter(s): {redriven:?}",
                redriven.len()
            )
            .map_err(write)?;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("dead_letters: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dead_letters: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse_and_a_redrive_must_say_what() {
        assert_eq!(
            parse(&args("list --consumer bot")),
            Ok(Command::List(Selection {
                consumer: Some("bot".to_owned()),
                ids: Vec::new()
            }))
        );
        assert_eq!(parse(&args("show --id 7")), Ok(Command::Show(7)));
        assert!(parse(&args("redrive")).is_err());
        assert!(parse(&args("redrive --all")).is_ok());
        assert!(parse(&args("redrive --consumer bot --payload x.json")).is_err());
        assert_eq!(
            parse(&args("redrive --id 3 --payload fixed.json")),
            Ok(Command::Redrive {
                selection: Selection {
                    consumer: None,
                    ids: vec![3]
                },
                payload: Some("fixed.json".to_owned())
            })
        );
        assert!(parse(&args("show --id x")).is_err());
    }
}
