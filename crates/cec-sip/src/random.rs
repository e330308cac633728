//! A derived random stream: SplitMix64 from one seed. Tags, branches and cnonces need values
//! that are unique and unpredictable to outsiders, not a system call each; the seed comes from
//! the injected source (the OS in production, a fixed seed in tests).

/// A SplitMix64 generator starting at `seed`.
pub fn splitmix64(seed: u64) -> impl FnMut() -> u64 + Send + 'static {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_reference_sequence() {
        // SplitMix64 reference values for seed 1234567 (Vigna's splitmix64.c).
        let mut next = super::splitmix64(1_234_567);
        assert_eq!(next(), 6_457_827_717_110_365_317);
        assert_eq!(next(), 3_203_168_211_198_807_973);
    }
}
