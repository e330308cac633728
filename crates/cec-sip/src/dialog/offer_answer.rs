//! The offer/answer state of one dialog's session (RFC 3264, RFC 6337): at most one offer is
//! outstanding at a time, whoever made it.

/// Offer/answer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OfferAnswer {
    /// No offer outstanding (before the first offer, or after an answer).
    #[default]
    Stable,
    /// We sent an offer and wait for the answer.
    LocalOffer,
    /// The peer sent an offer and waits for our answer.
    RemoteOffer,
}

/// An offer/answer rule was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferAnswerError {
    /// A new offer while another is outstanding: the peer gets 491 (RFC 3261 §14.2, RFC 3311
    /// §5.2), or our own call is refused.
    #[error("an offer is already outstanding")]
    OfferPending,
    /// An answer with no offer outstanding.
    #[error("no offer to answer")]
    NoOffer,
}

impl OfferAnswer {
    /// We send an offer.
    pub fn local_offer(&mut self) -> Result<(), OfferAnswerError> {
        if *self != OfferAnswer::Stable {
            return Err(OfferAnswerError::OfferPending);
        }
        *self = OfferAnswer::LocalOffer;
        Ok(())
    }

    /// The peer sends an offer.
    pub fn remote_offer(&mut self) -> Result<(), OfferAnswerError> {
        if *self != OfferAnswer::Stable {
            return Err(OfferAnswerError::OfferPending);
        }
        *self = OfferAnswer::RemoteOffer;
        Ok(())
    }

    /// We answer the peer's offer.
    pub fn local_answer(&mut self) -> Result<(), OfferAnswerError> {
        if *self != OfferAnswer::RemoteOffer {
            return Err(OfferAnswerError::NoOffer);
        }
        *self = OfferAnswer::Stable;
        Ok(())
    }

    /// The peer answers our offer.
    pub fn remote_answer(&mut self) -> Result<(), OfferAnswerError> {
        if *self != OfferAnswer::LocalOffer {
            return Err(OfferAnswerError::NoOffer);
        }
        *self = OfferAnswer::Stable;
        Ok(())
    }

    /// The exchange was abandoned (the offer's transaction failed: 491, timeout, rejection).
    pub fn rollback(&mut self) {
        *self = OfferAnswer::Stable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_offer_at_a_time_in_either_direction() {
        let mut oa = OfferAnswer::default();
        oa.local_offer().unwrap();
        assert_eq!(oa.remote_offer(), Err(OfferAnswerError::OfferPending));
        assert_eq!(oa.local_offer(), Err(OfferAnswerError::OfferPending));
        assert_eq!(oa.local_answer(), Err(OfferAnswerError::NoOffer));
        oa.remote_answer().unwrap();
        oa.remote_offer().unwrap();
        assert_eq!(oa.local_offer(), Err(OfferAnswerError::OfferPending));
        oa.local_answer().unwrap();
        assert_eq!(oa, OfferAnswer::Stable);
        oa.local_offer().unwrap();
        oa.rollback();
        assert_eq!(oa, OfferAnswer::Stable);
    }
}
