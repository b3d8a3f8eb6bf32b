//! `quorumnet devnet --preset NAME`: named scenarios. A preset only sets defaults: every option given
//! explicitly on the command line overrides the preset's value for it (`--preset byzantine -n 10`
//! runs the preset's two byzantine validators among ten).
//!
//! `churn` is a scenario of the issue that the devnet cannot run yet (no validator-set change
//! mid-run): the parser knows its name and refuses it with [`PresetError::NotAvailable`] rather than
//! as unknown.

use std::str::FromStr;
use std::time::Duration;

use super::byzantine::ByzantineKind;
use super::byzantine_mix::ByzantineMix;
use super::partition::{PartitionPlan, Side};

/// A named scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// A wide-area network: 150 ms ± 50 ms links, 2 % of frames lost (each delayed by a 400 ms
    /// retransmission), every connection reset about once a minute.
    LossyWan,
    /// 7 validators, 2 of them byzantine of different kinds: an equivocator and a spammer.
    Byzantine,
    /// 7 validators, the last 2 NAT-bound, reached through 2 relays.
    Nat,
    /// 100 validators on the default topology for that many.
    Stress,
    /// 7 validators, the last an equivocator, cut 4|3 (`--partition 4|3@3`: validators 0-3 | 4-6)
    /// once height 3 is committed and healed 10 s later. The equivocator, counted on the 3 side, stays
    /// linked to both: each side's honest validators (4 and 2) need its votes for 2/3 of the power
    /// (5 of 7), and it sends both sides conflicting votes. No side commits while cut; after the heal
    /// the equivocation is proven and the 6 honest validators commit on.
    PartitionHeal,
}

/// Why a `--preset` name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    /// A name no preset has.
    #[error("unknown preset `{name}`: use one of {}", Preset::NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// A scenario named by the issue that the devnet cannot run yet.
    #[error("preset `{name}` is not available yet (the devnet cannot {what} yet): use one of {}", Preset::NAMES.join(", "))]
    NotAvailable {
        /// The name given.
        name: &'static str,
        /// What the devnet lacks for it.
        what: &'static str,
    },
}

/// What a preset sets; `None` leaves the option's own default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PresetDefaults {
    /// `--validators`.
    pub validators: Option<usize>,
    /// `--latency-ms`.
    pub latency_ms: Option<u64>,
    /// `--jitter-ms`.
    pub jitter_ms: Option<u64>,
    /// `--loss`.
    pub loss: Option<f64>,
    /// `--retransmission-ms`.
    pub retransmission_ms: Option<u64>,
    /// `--reset-every`.
    pub reset_every: Option<f64>,
    /// `--nat`.
    pub nat: Option<usize>,
    /// `--relays`.
    pub relays: Option<u8>,
    /// `--byzantine`.
    pub byzantine: Option<ByzantineMix>,
    /// `--partition` (with its healing: `--heal-at`, `--heal-after`).
    pub partition: Option<PartitionPlan>,
}

impl Preset {
    /// The names of the presets that run.
    pub const NAMES: [&'static str; 5] = ["lossy-wan", "byzantine", "nat", "stress", "partition-heal"];

    /// Its name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::LossyWan => "lossy-wan",
            Preset::Byzantine => "byzantine",
            Preset::Nat => "nat",
            Preset::Stress => "stress",
            Preset::PartitionHeal => "partition-heal",
        }
    }

    /// The option defaults it sets.
    ///
    /// ```
    /// use quorumnet::devnet::preset::Preset;
    ///
    /// let byzantine = "byzantine".parse::<Preset>().unwrap().defaults();
    /// assert_eq!((byzantine.validators, byzantine.byzantine.unwrap().total()), (Some(7), 2));
    /// assert!("churn".parse::<Preset>().unwrap_err().to_string().contains("not available yet"));
    /// let partition = "partition-heal".parse::<Preset>().unwrap().defaults().partition.unwrap();
    /// assert_eq!(partition.to_string(), "4|3@3");
    /// ```
    pub fn defaults(self) -> PresetDefaults {
        match self {
            Preset::LossyWan => PresetDefaults {
                latency_ms: Some(150),
                jitter_ms: Some(50),
                loss: Some(0.02),
                retransmission_ms: Some(400),
                reset_every: Some(60.0),
                ..PresetDefaults::default()
            },
            Preset::Byzantine => PresetDefaults {
                validators: Some(7),
                byzantine: Some(ByzantineMix::of(&[(ByzantineKind::Equivocator, 1), (ByzantineKind::Spammer, 1)])),
                ..PresetDefaults::default()
            },
            Preset::Nat => {
                PresetDefaults { validators: Some(7), nat: Some(2), relays: Some(2), ..PresetDefaults::default() }
            }
            Preset::Stress => PresetDefaults { validators: Some(100), ..PresetDefaults::default() },
            Preset::PartitionHeal => PresetDefaults {
                validators: Some(7),
                byzantine: Some(ByzantineMix::of(&[(ByzantineKind::Equivocator, 1)])),
                partition: Some(
                    PartitionPlan::new(Side::Count(4), Side::Count(3), 3).healing_after(Duration::from_secs(10)),
                ),
                ..PresetDefaults::default()
            },
        }
    }
}

impl FromStr for Preset {
    type Err = PresetError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "lossy-wan" => Ok(Preset::LossyWan),
            "byzantine" => Ok(Preset::Byzantine),
            "nat" => Ok(Preset::Nat),
            "stress" => Ok(Preset::Stress),
            "partition-heal" => Ok(Preset::PartitionHeal),
            "churn" => Err(PresetError::NotAvailable { name: "churn", what: "change the validator set mid-run" }),
            other => Err(PresetError::Unknown { name: other.to_string() }),
        }
    }
}
