//! `quorumnet devnet --preset NAME`: named scenarios. A preset only sets defaults: every option given
//! explicitly on the command line overrides the preset's value for it (`--preset byzantine -n 10`
//! runs the preset's two byzantine validators among ten).

use std::str::FromStr;
use std::time::Duration;

use super::byzantine::ByzantineKind;
use super::byzantine_mix::ByzantineMix;
use super::churn::ChurnPlan;
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
    /// 7 validators, 5 in the genesis set: at height 6 two leave and the other two join, at height 12
    /// one more leaves and an early leaver joins again ([`CHURN`]).
    Churn,
    /// 7 validators, the last an equivocator, cut 4|3 (`--partition 4|3@3`: validators 0-3 | 4-6)
    /// once height 3 is committed and healed 10 s later. The equivocator, counted on the 3 side, stays
    /// linked to both: each side's honest validators (4 and 2) need its votes for 2/3 of the power
    /// (5 of 7), and it sends both sides conflicting votes. No side commits while cut; after the heal
    /// the equivocation is proven and the 6 honest validators commit on.
    PartitionHeal,
}

/// The `churn` preset's plan. Two of five leaving at once leave the old set short of a quorum, so
/// the run only goes on if the joiners' votes count.
pub const CHURN: &str = "6:-0-1+5+6,12:-2+0";

/// Why a `--preset` name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    /// A name no preset has.
    #[error("unknown preset `{name}`: use one of {}", Preset::NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
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
    /// `--churn`.
    pub churn: Option<ChurnPlan>,
    /// `--partition` (with its healing: `--heal-at`, `--heal-after`).
    pub partition: Option<PartitionPlan>,
}

impl Preset {
    /// The names of the presets that run.
    pub const NAMES: [&'static str; 6] = ["lossy-wan", "byzantine", "nat", "stress", "churn", "partition-heal"];

    /// Its name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::LossyWan => "lossy-wan",
            Preset::Byzantine => "byzantine",
            Preset::Nat => "nat",
            Preset::Stress => "stress",
            Preset::Churn => "churn",
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
    /// assert_eq!("churn".parse::<Preset>().unwrap().defaults().churn.unwrap().steps().len(), 2);
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
            Preset::Churn => PresetDefaults {
                validators: Some(7),
                churn: Some(CHURN.parse().expect("the churn preset's plan parses")),
                ..PresetDefaults::default()
            },
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
            "churn" => Ok(Preset::Churn),
            "partition-heal" => Ok(Preset::PartitionHeal),
            other => Err(PresetError::Unknown { name: other.to_string() }),
        }
    }
}
