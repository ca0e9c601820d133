//! Where a rule was written: a flag (or its environment variable), or a table of the
//! configuration file. A rule refused after parsing (a tool the built-in server does not have, a
//! CEL expression that does not compile) is refused in the words of the place it came from.

use crate::Failure;
use crate::config_file::Position;

/// Where a rule was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// A flag's value (or its environment variable's).
    Flag,
    /// A configuration file, at this position.
    File(Position),
}

impl Written {
    /// A usage error about `entry`, a value of `flag` (as clap names it: `--tool-scope
    /// <TOOL=SCOPE>`): in clap's words for a flag, at its position for a file.
    pub(crate) fn invalid(&self, flag: &str, entry: &str, reason: &str) -> Failure {
        match self {
            Self::Flag => Failure::Usage(format!("invalid value '{entry}' for '{flag}': {reason}")),
            Self::File(position) => Failure::Config(position.error(reason)),
        }
    }
}
