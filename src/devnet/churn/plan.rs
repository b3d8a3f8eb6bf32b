use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::message::Height;

/// One validator-set change: from height [`at`](Self::at) on, [`leave`](Self::leave) are out of the
/// set and [`join`](Self::join) are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChurnStep {
    /// The first height the new set decides.
    pub at: Height,
    /// Validator indices leaving.
    pub leave: Vec<usize>,
    /// Validator indices joining.
    pub join: Vec<usize>,
}

impl ChurnStep {
    /// `members` after this step: the leavers out, the joiners in.
    fn apply(&self, members: &mut BTreeSet<usize>) {
        for index in &self.leave {
            members.remove(index);
        }
        members.extend(&self.join);
    }
}

/// Why a `--churn` value is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChurnParseError {
    /// Not `HEIGHT:±INDEX…[,HEIGHT:±INDEX…]`.
    #[error("--churn `{given}`: {why}; write HEIGHT:-LEAVER+JOINER…, steps separated by commas (e.g. 6:-0+4,12:+0)")]
    Syntax {
        /// The step that does not parse.
        given: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Which validators leave and join at which heights (`--churn`).
///
/// Indices are the devnet's validators (`0..validators`); those whose first step is a join start
/// outside the genesis set.
///
/// ```
/// use quorumnet::devnet::churn::ChurnPlan;
/// use quorumnet::message::Height;
///
/// let plan: ChurnPlan = "6:-0-1+5+6,12:-2+0".parse().unwrap();
/// assert_eq!(plan.genesis(7), vec![0, 1, 2, 3, 4]);
/// assert_eq!(plan.members_at(Height(6), 7), vec![2, 3, 4, 5, 6]);
/// assert_eq!(plan.members_at(Height(12), 7), vec![0, 3, 4, 5, 6]);
/// assert!(plan.check(7).is_ok());
/// assert!(plan.check(6).unwrap_err().contains("6"));
/// assert!("6:0".parse::<ChurnPlan>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChurnPlan {
    steps: Vec<ChurnStep>,
}

impl ChurnPlan {
    /// Its steps, by height.
    pub fn steps(&self) -> &[ChurnStep] {
        &self.steps
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The genesis set of `validators`: all but those whose first step joins them.
    pub fn genesis(&self, validators: usize) -> Vec<usize> {
        (0..validators)
            .filter(|index| {
                let first = self.steps.iter().find(|s| s.leave.contains(index) || s.join.contains(index));
                first.is_none_or(|step| !step.join.contains(index))
            })
            .collect()
    }

    /// The members deciding `height`, ascending.
    pub fn members_at(&self, height: Height, validators: usize) -> Vec<usize> {
        let mut members: BTreeSet<usize> = self.genesis(validators).into_iter().collect();
        self.steps.iter().take_while(|s| s.at <= height).for_each(|step| step.apply(&mut members));
        members.into_iter().collect()
    }

    /// The members of the last set.
    pub fn final_members(&self, validators: usize) -> Vec<usize> {
        self.members_at(Height(u64::MAX), validators)
    }

    /// Fails, saying why, unless every step names validators among `validators`, leaves only members
    /// and joins only non-members, and leaves a set of at least one.
    pub fn check(&self, validators: usize) -> Result<(), String> {
        let mut members: BTreeSet<usize> = self.genesis(validators).into_iter().collect();
        if members.is_empty() {
            return Err("--churn joins every validator later: the genesis set would be empty".into());
        }
        for step in &self.steps {
            let at = step.at.0;
            if let Some(index) = step.leave.iter().chain(&step.join).find(|&&i| i >= validators) {
                return Err(format!(
                    "--churn names validator {index} at height {at}, but there are {validators} (0..{}): raise --validators",
                    validators.saturating_sub(1)
                ));
            }
            if let Some(index) = step.leave.iter().find(|i| !members.contains(i)) {
                return Err(format!("--churn: validator {index} leaves at height {at} but is not in the set then"));
            }
            if let Some(index) = step.join.iter().find(|i| members.contains(i)) {
                return Err(format!("--churn: validator {index} joins at height {at} but is in the set already"));
            }
            step.apply(&mut members);
            if members.is_empty() {
                return Err(format!("--churn leaves no validator in the set from height {at}"));
            }
        }
        Ok(())
    }
}

impl FromStr for ChurnPlan {
    type Err = ChurnParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut steps: Vec<ChurnStep> = Vec::new();
        for given in value.split(',') {
            let syntax = |why| ChurnParseError::Syntax { given: given.to_string(), why };
            let (height, changes) = given.split_once(':').ok_or_else(|| syntax("no `:` after the height"))?;
            let at = height.trim().parse::<u64>().map_err(|_| syntax("the height is not a number"))?;
            // A change takes effect once the height before it is committed; height 1 has no such moment.
            if at < 2 {
                return Err(syntax("a change takes effect at height 2 or later"));
            }
            if steps.last().is_some_and(|last| last.at.0 >= at) {
                return Err(syntax("steps must be in increasing height order"));
            }
            let mut step = ChurnStep { at: Height(at), leave: Vec::new(), join: Vec::new() };
            let mut rest = changes.trim();
            if rest.is_empty() {
                return Err(syntax("no validator leaves or joins"));
            }
            while let Some(sign) = rest.chars().next() {
                let to = match sign {
                    '+' => &mut step.join,
                    '-' => &mut step.leave,
                    _ => return Err(syntax("each validator index needs `-` (leaves) or `+` (joins) before it")),
                };
                let digits = rest[1..].find(['+', '-']).map_or(rest.len(), |end| end + 1);
                to.push(rest[1..digits].parse::<usize>().map_err(|_| syntax("a validator index is not a number"))?);
                rest = &rest[digits..];
            }
            let duplicate =
                step.leave.iter().chain(&step.join).collect::<BTreeSet<_>>().len() < step.leave.len() + step.join.len();
            if duplicate {
                return Err(syntax("a validator is named twice in one step"));
            }
            steps.push(step);
        }
        Ok(ChurnPlan { steps })
    }
}

impl fmt::Display for ChurnPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.steps.iter().enumerate() {
            let separator = if n == 0 { "" } else { "," };
            write!(f, "{separator}{}:", step.at.0)?;
            step.leave.iter().try_for_each(|index| write!(f, "-{index}"))?;
            step.join.iter().try_for_each(|index| write!(f, "+{index}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_prints_as_it_parses() {
        let plan: ChurnPlan = "6:-0-1+5+6,12:-2+0".parse().unwrap();
        assert_eq!(plan.to_string(), "6:-0-1+5+6,12:-2+0");
        assert_eq!(plan.steps()[1], ChurnStep { at: Height(12), leave: vec![2], join: vec![0] });
    }

    #[test]
    fn malformed_values_say_what_is_wrong() {
        for (value, why) in [
            ("6", "no `:`"),
            ("x:-1", "not a number"),
            ("1:-1", "height 2 or later"),
            ("6:-1,5:+1", "increasing"),
            ("6:", "no validator"),
            ("6:1", "`-` (leaves) or `+`"),
            ("6:-a", "index is not a number"),
            ("6:-1+1", "named twice"),
        ] {
            let error = value.parse::<ChurnPlan>().unwrap_err().to_string();
            assert!(error.contains(why) && error.contains("--churn"), "{value}: {error}");
        }
    }

    #[test]
    fn a_plan_must_fit_the_validators() {
        let check = |value: &str, validators| value.parse::<ChurnPlan>().unwrap().check(validators);
        assert!(check("5:-3", 4).is_ok());
        assert!(check("5:-4", 4).unwrap_err().contains("raise --validators"));
        assert!(check("5:-0,7:-0", 4).unwrap_err().contains("not in the set"));
        assert!(check("5:+3,7:+3", 4).unwrap_err().contains("in the set already"), "3 joined at 5");
        assert!(check("5:-0-1-2-3", 4).unwrap_err().contains("leaves no validator"));
        assert!(check("5:+0+1+2+3", 4).unwrap_err().contains("genesis set would be empty"));
    }
}
