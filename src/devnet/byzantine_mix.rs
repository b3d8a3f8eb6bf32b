//! `--byzantine KIND=COUNT[,KIND=COUNT…]`: how many byzantine validators of each kind a devnet runs.
//!
//! Parsing only checks the text (known kinds, counts of at least one, each kind once); whether the
//! devnet can hold that many (below a third of the voting power, on the simulator) is
//! [`Devnet::start`](super::Devnet::start)'s check, which knows the validator count.

use std::fmt;
use std::str::FromStr;

use super::byzantine::ByzantineKind;

/// Byzantine validators by kind, in the order given.
///
/// ```
/// use quorumnet::devnet::byzantine::ByzantineKind;
/// use quorumnet::devnet::byzantine_mix::ByzantineMix;
///
/// let mix: ByzantineMix = "equivocate=1,spam=2".parse().unwrap();
/// assert_eq!(mix.total(), 3);
/// assert_eq!(mix.kinds(), [ByzantineKind::Equivocator, ByzantineKind::Spammer, ByzantineKind::Spammer]);
/// assert!("spam=0".parse::<ByzantineMix>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByzantineMix(Vec<(ByzantineKind, usize)>);

/// Why a `--byzantine` value does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ByzantineMixError {
    /// A kind nobody implements.
    #[error("unknown byzantine kind `{name}`: use one of {}", known_kinds())]
    UnknownKind {
        /// The name given.
        name: String,
    },
    /// An entry without `=COUNT`, or a count that is not a number.
    #[error("`{entry}` is not KIND=COUNT (e.g. equivocate=1)")]
    NotKindCount {
        /// The entry.
        entry: String,
    },
    /// `KIND=0`.
    #[error("`{kind}=0` runs no {kind} validator: give a count of at least 1, or leave the kind out")]
    ZeroCount {
        /// The kind's option name.
        kind: &'static str,
    },
    /// A kind given twice.
    #[error("`{kind}` is given twice: give each kind once, with the total count")]
    Repeated {
        /// The kind's option name.
        kind: &'static str,
    },
}

fn known_kinds() -> String {
    ByzantineKind::ALL.iter().map(|kind| kind.option_name()).collect::<Vec<_>>().join(", ")
}

impl ByzantineMix {
    /// A mix of `count` validators of each kind listed.
    pub fn of(entries: &[(ByzantineKind, usize)]) -> Self {
        ByzantineMix(entries.to_vec())
    }

    /// How many byzantine validators in all.
    pub fn total(&self) -> usize {
        self.0.iter().map(|(_, count)| count).sum()
    }

    /// One kind per byzantine validator, in the order given.
    pub fn kinds(&self) -> Vec<ByzantineKind> {
        self.0.iter().flat_map(|&(kind, count)| std::iter::repeat_n(kind, count)).collect()
    }
}

impl FromStr for ByzantineMix {
    type Err = ByzantineMixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut entries: Vec<(ByzantineKind, usize)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let not_kind_count = || ByzantineMixError::NotKindCount { entry: entry.to_string() };
            let (name, count) = entry.split_once('=').ok_or_else(not_kind_count)?;
            let kind = ByzantineKind::from_option_name(name.trim())
                .ok_or_else(|| ByzantineMixError::UnknownKind { name: name.trim().to_string() })?;
            let count: usize = count.trim().parse().map_err(|_| not_kind_count())?;
            if count == 0 {
                return Err(ByzantineMixError::ZeroCount { kind: kind.option_name() });
            }
            if entries.iter().any(|(seen, _)| *seen == kind) {
                return Err(ByzantineMixError::Repeated { kind: kind.option_name() });
            }
            entries.push((kind, count));
        }
        if entries.is_empty() {
            // An empty value is a slip (a shell variable unset), not a request for no byzantine validator.
            return Err(ByzantineMixError::NotKindCount { entry: text.to_string() });
        }
        Ok(ByzantineMix(entries))
    }
}

impl fmt::Display for ByzantineMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> =
            self.0.iter().map(|(kind, count)| format!("{}={count}", kind.option_name())).collect();
        f.write_str(&entries.join(","))
    }
}
