//! Simplified ITU-T G.107 E-model for G.711: a rating factor R from one-way delay and
//! packet loss, and the standard R -> MOS mapping.

/// R with no impairments for G.711 under default G.107 parameters (Ro - Is).
const R_DEFAULT: f64 = 93.2;
/// Equipment impairment of G.711 (G.113 Appendix I).
const IE_G711: f64 = 0.0;
/// Packet-loss robustness of G.711 without packet-loss concealment (G.113 Appendix I).
pub const BPL_G711_NO_PLC: f64 = 4.3;
/// Packet-loss robustness of G.711 with packet-loss concealment (G.113 Appendix I).
pub const BPL_G711_PLC: f64 = 25.1;

/// The inputs of one estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelInput {
    /// Mouth-to-ear one-way delay in ms (network delay plus jitter buffer).
    pub one_way_delay_ms: f64,
    /// Packet loss in percent (0-100), random loss assumed (BurstR = 1).
    pub loss_percent: f64,
    /// Whether the receiver conceals loss (selects Bpl).
    pub plc: bool,
}

/// Delay impairment Id (simplified G.107: 0.024 d + 0.11 (d - 177.3) above 177.3 ms).
pub fn delay_impairment(one_way_delay_ms: f64) -> f64 {
    let d = one_way_delay_ms.max(0.0);
    let knee = if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    0.024 * d + knee
}

/// Effective equipment impairment Ie-eff for G.711 at `loss_percent` random loss.
pub fn loss_impairment(loss_percent: f64, plc: bool) -> f64 {
    let ppl = loss_percent.clamp(0.0, 100.0);
    let bpl = if plc { BPL_G711_PLC } else { BPL_G711_NO_PLC };
    IE_G711 + (95.0 - IE_G711) * ppl / (ppl + bpl)
}

/// The rating factor R = 93.2 - Id - Ie-eff.
pub fn r_factor(input: EModelInput) -> f64 {
    R_DEFAULT
        - delay_impairment(input.one_way_delay_ms)
        - loss_impairment(input.loss_percent, input.plc)
}

/// The G.107 mapping from R to an estimated MOS (1.0 to 4.5).
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

/// Estimated MOS for a G.711 call.
pub fn estimate_mos(input: EModelInput) -> f64 {
    mos_from_r(r_factor(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(one_way_delay_ms: f64, loss_percent: f64, plc: bool) -> EModelInput {
        EModelInput {
            one_way_delay_ms,
            loss_percent,
            plc,
        }
    }

    #[test]
    fn perfect_g711_is_about_4_4() {
        let mos = estimate_mos(input(0.0, 0.0, true));
        assert!((mos - 4.41).abs() < 0.01, "{mos}");
    }

    #[test]
    fn delay_knee_at_177_ms() {
        assert!((delay_impairment(100.0) - 2.4).abs() < 1e-9);
        assert!((delay_impairment(277.3) - (0.024 * 277.3 + 11.0)).abs() < 1e-9);
    }

    #[test]
    fn loss_impairment_matches_g107_for_one_percent() {
        // 95 * 1 / (1 + 4.3) = 17.92; with PLC 95 * 1 / 26.1 = 3.64.
        assert!((loss_impairment(1.0, false) - 17.925).abs() < 0.01);
        assert!((loss_impairment(1.0, true) - 3.640).abs() < 0.01);
    }

    #[test]
    fn mos_falls_with_loss_and_delay_and_stays_in_range() {
        let good = estimate_mos(input(20.0, 0.0, false));
        let lossy = estimate_mos(input(20.0, 5.0, false));
        let late = estimate_mos(input(400.0, 0.0, false));
        assert!(good > lossy && good > late);
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(estimate_mos(input(10_000.0, 100.0, false)), 1.0);
    }
}
