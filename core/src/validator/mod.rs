//! Validator sets over time: voting power, versions effective from a height, and their source.
