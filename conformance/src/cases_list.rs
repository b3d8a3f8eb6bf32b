//! [`CASES`], generated from the one list of case names in `__with_case_names!`, the same list
//! `conformance_tests!` makes tests from.

crate::__with_case_names! { __case_table () }
