//! Unit tests (one binary): fixtures are realistic carrier SDPs.

mod answer_tests;
mod fixtures;
mod mutant_tests;
mod offer_tests;
mod parse_error_tests;
mod parse_tests;
mod proptests;
