//! What a receipt supports, and the rule that claims stay within it.
//!
//! A claim alone cannot say whether its amounts are right: a receipt item names its receipt
//! by id, and only the node holding the receipt, the returns that name it and the other
//! claims of it can judge. The rule (spec/protocol.md §Claim amounts) is pure so that every
//! node, and any other implementation, reaches the same verdict from the same records:
//! across every live claim, the items on a receipt claim at most what it supports, its
//! total less what its returns refunded, in its own currency.
//!
//! ```
//! use kvitt_protocol::claim_amounts::ReceiptClaims;
//! use kvitt_protocol::{sample, ErrorCode, Signed};
//! # let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! // The sample hotel night: 1624.00 SEK.
//! let body = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1042);
//! let receipt = Signed::sign(body, &key).unwrap();
//! let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &[] };
//! assert!(claims.check(&sample::claim(receipt.id(), 162_400)).is_ok());
//! let error = claims.check(&sample::claim(receipt.id(), 999_999_999)).unwrap_err();
//! assert_eq!((error.code(), error.path()), (ErrorCode::OverClaim, "items[0].amount"));
//! ```

use crate::claim::{Claim, ClaimItem};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::format_money;
use crate::limits::MAX_AMOUNT_MINOR;
use crate::receipt::Receipt;
use crate::Signed;

/// One receipt with what the amount rule needs beside a claim of it.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptClaims<'a> {
    /// The receipt claimed.
    pub receipt: &'a Signed<Receipt>,
    /// Receipts that name it as `original` (returns and corrections); any other receipt
    /// given here is ignored.
    pub returns: &'a [Signed<Receipt>],
    /// The other live claims ([`crate::event::Status::is_live`]) that the checker holds; those
    /// that do not name the receipt are ignored. The claim being checked is not among them.
    pub other_claims: &'a [Signed<Claim>],
}

/// What a receipt supports, in its currency's minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Support {
    /// The receipt's total.
    pub total: i64,
    /// What its returns refunded: the sum of their negative totals, as a positive amount.
    pub refunded: i64,
    /// `total − refunded`, never below zero: the most that every live claim together may
    /// claim on the receipt.
    pub supported: i64,
}

impl ReceiptClaims<'_> {
    /// What the receipt supports: its total less the refunds of its returns. A return
    /// whose total is positive (an exchange that cost more) refunds nothing; it is a
    /// receipt of its own. A return in another currency cannot be netted and is refused
    /// (`claim.receipt_currency` at `path`).
    pub fn support(&self, path: &str) -> Result<Support> {
        let receipt = self.receipt.body();
        let mut refunded: i64 = 0;
        for refund in self.returns_of_receipt() {
            if refund.body().currency != receipt.currency {
                return Err(Error::new(
                    ErrorCode::ReceiptCurrency,
                    path,
                    format!(
                        "return {} is in {}, receipt {} in {}: it cannot be netted",
                        refund.id().short(),
                        refund.body().currency,
                        self.receipt.id().short(),
                        receipt.currency
                    ),
                ));
            }
            // Valid totals are within ±MAX_AMOUNT_MINOR, so a saturated sum is still
            // above any total and leaves nothing supported.
            refunded = refunded.saturating_add(refund.body().total.min(0).saturating_neg());
        }
        let supported = receipt.total.saturating_sub(refunded).max(0);
        Ok(Support { total: receipt.total, refunded, supported })
    }

    /// Checks the items of `claim` that name the receipt (spec/protocol.md §Claim
    /// amounts): each is in the receipt's currency (`claim.receipt_currency`), and, in
    /// item order, what the other live claims and this claim's items so far claim on the
    /// receipt is at most what it supports (`claim.over_claim` at the first item that
    /// goes over: its `amount`, or `foreign.amount` for a receipt in another currency).
    pub fn check(&self, claim: &Claim) -> Result<()> {
        let id = self.receipt.id();
        let naming: Vec<(usize, &ClaimItem)> = claim
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| matches!(item, ClaimItem::Receipt { receipt, .. } if *receipt == id))
            .collect();
        let Some((first, _)) = naming.first() else {
            return Ok(());
        };
        let support = self.support(&format!("items[{first}].receipt"))?;
        let elsewhere = self.claimed_elsewhere();
        let mut claimed = elsewhere;
        for (index, item) in naming {
            let (amount, path) = self.measure(index, item)?;
            claimed = claimed.saturating_add(amount);
            if claimed > support.supported {
                return Err(self.over_claim(&path, claimed, elsewhere, support));
            }
        }
        Ok(())
    }

    /// What the other live claims claim on the receipt. An item of theirs that has no
    /// amount in the receipt's currency counts as [`MAX_AMOUNT_MINOR`]: it takes all
    /// a receipt can support.
    pub fn claimed_elsewhere(&self) -> i64 {
        let id = self.receipt.id();
        self.other_claims
            .iter()
            .flat_map(|other| other.body().items.iter())
            .filter(|item| matches!(item, ClaimItem::Receipt { receipt, .. } if *receipt == id))
            .map(|item| self.measure(0, item).map_or(MAX_AMOUNT_MINOR, |(amount, _)| amount))
            .fold(0, i64::saturating_add)
    }

    /// The receipts given that return this one.
    fn returns_of_receipt(&self) -> impl Iterator<Item = &Signed<Receipt>> {
        let id = self.receipt.id();
        self.returns.iter().filter(move |refund| refund.body().original == Some(id))
    }

    /// The amount item `index` claims in the receipt's currency, and the path of that
    /// amount; or why it has none.
    fn measure(&self, index: usize, item: &ClaimItem) -> Result<(i64, String)> {
        let ClaimItem::Receipt { amount, foreign, .. } = item else {
            return Ok((0, format!("items[{index}]")));
        };
        let currency = &self.receipt.body().currency;
        let mismatch = |path: &str, detail: String| {
            Err(Error::new(ErrorCode::ReceiptCurrency, format!("items[{index}].{path}"), detail))
        };
        match (foreign, currency.as_str()) {
            (None, "SEK") => Ok((*amount, format!("items[{index}].amount"))),
            (Some(foreign), "SEK") => mismatch(
                "foreign",
                format!("{} {}, but the receipt is in SEK", foreign.amount, foreign.currency),
            ),
            (None, _) => mismatch("foreign", format!("missing; the receipt is in {currency}")),
            (Some(foreign), _) if foreign.currency != *currency => mismatch(
                "foreign.currency",
                format!("{}, but the receipt is in {currency}", foreign.currency),
            ),
            (Some(foreign), _) => Ok((foreign.amount, format!("items[{index}].foreign.amount"))),
        }
    }

    fn over_claim(&self, path: &str, claimed: i64, elsewhere: i64, support: Support) -> Error {
        let currency = &self.receipt.body().currency;
        let money = |minor: i64| format_money(minor, currency);
        let mut detail = format!(
            "{} claimed on receipt {}, which supports {}",
            money(claimed),
            self.receipt.id().short(),
            money(support.supported)
        );
        if support.refunded > 0 {
            detail.push_str(&format!(
                " (total {} less {} returned)",
                money(support.total),
                money(support.refunded)
            ));
        }
        if elsewhere > 0 {
            detail.push_str(&format!("; {} of it in other claims", money(elsewhere)));
        }
        Error::new(ErrorCode::OverClaim, path, detail)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::claim::{Booking, ExchangeRate, ForeignAmount};
    use crate::receipt::{LineKind, Payment};
    use crate::sample;
    use crate::{Record, RecordId};

    fn signed<T: Record>(body: T) -> Signed<T> {
        Signed::sign(body, &SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    /// The sample hotel night, 1624.00 SEK, as serial `serial`.
    fn night(serial: u64) -> Receipt {
        sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", serial)
    }

    /// A return of `refund` minor units of `original`'s room, in `currency`.
    fn refund_of(original: &Signed<Receipt>, refund: i64, currency: &str) -> Signed<Receipt> {
        let template = original.body().clone();
        let line = crate::receipt::Line {
            kind: LineKind::Return,
            ..sample::line("Enkelrum, återbetalning", "hotel", 1000, refund, 1200)
        };
        let receipt = Receipt {
            serial: template.serial + 1,
            currency: currency.into(),
            lines: vec![line],
            original: Some(original.id()),
            ..template
        }
        .with_computed_totals();
        let total = receipt.total;
        signed(Receipt { payments: vec![Payment::Cash { amount: total }], ..receipt })
    }

    /// A claim of the items.
    fn claim_of(items: Vec<ClaimItem>) -> Claim {
        Claim { items, ..sample::claim(RecordId([0; 32]), 0) }
    }

    /// An item claiming `amount` öre of `receipt`, booked to cost center `center`.
    fn item(receipt: &Signed<Receipt>, amount: i64, center: &str) -> ClaimItem {
        ClaimItem::Receipt {
            receipt: receipt.id(),
            business_purpose: "Logi".into(),
            amount,
            booking: Booking { account: 5831, cost_center: center.into(), project: None },
            foreign: None,
            participants: vec![],
        }
    }

    /// An item claiming `amount` minor units of `currency` of `receipt`, at 11.4523 SEK.
    fn foreign_item(receipt: &Signed<Receipt>, amount: i64, currency: &str) -> ClaimItem {
        let rate = ExchangeRate { value: 114_523, scale: 4 };
        let foreign = ForeignAmount {
            amount,
            currency: currency.into(),
            rate,
            rate_date: "2026-05-05".into(),
            rate_source: "riksbanken".into(),
        };
        let sek = rate.convert(amount, currency).unwrap();
        match item(receipt, sek, "CC-100") {
            ClaimItem::Receipt { receipt, business_purpose, amount, booking, participants, .. } => {
                ClaimItem::Receipt {
                    receipt,
                    business_purpose,
                    amount,
                    booking,
                    foreign: Some(foreign),
                    participants,
                }
            }
            other => other,
        }
    }

    #[test]
    fn the_whole_total_may_be_claimed_and_one_minor_unit_more_may_not() {
        let receipt = signed(night(1));
        let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &[] };
        assert!(claims.check(&claim_of(vec![item(&receipt, 162_400, "CC-100")])).is_ok());
        let error = claims.check(&claim_of(vec![item(&receipt, 162_401, "CC-100")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::OverClaim, "items[0].amount"));
        let expected =
            format!("1624.01 SEK claimed on receipt {}, which supports 1624.00 SEK", receipt.id().short());
        assert_eq!(error.detail(), expected);
    }

    #[test]
    fn returns_are_netted_and_an_exchange_that_cost_more_refunds_nothing() {
        let receipt = signed(night(1));
        let returns = [refund_of(&receipt, 10_000, "SEK")];
        let claims = ReceiptClaims { receipt: &receipt, returns: &returns, other_claims: &[] };
        assert_eq!(
            claims.support("").unwrap(),
            Support { total: 162_400, refunded: 10_000, supported: 152_400 }
        );
        assert!(claims.check(&claim_of(vec![item(&receipt, 152_400, "CC-100")])).is_ok());
        let error = claims.check(&claim_of(vec![item(&receipt, 152_401, "CC-100")])).unwrap_err();
        assert_eq!(error.code(), ErrorCode::OverClaim);
        assert!(error.detail().ends_with("(total 1624.00 SEK less 100.00 SEK returned)"), "{error}");
        // A receipt naming it whose total is positive refunds nothing.
        let exchange = signed(Receipt { original: Some(receipt.id()), ..night(3) });
        let returns = [exchange];
        let claims = ReceiptClaims { receipt: &receipt, returns: &returns, other_claims: &[] };
        assert_eq!(claims.support("").unwrap().supported, 162_400);
        // Refunds beyond the total leave nothing, not a negative support; 0 is still claimable.
        let returns = [refund_of(&receipt, 200_000, "SEK")];
        let claims = ReceiptClaims { receipt: &receipt, returns: &returns, other_claims: &[] };
        assert_eq!(claims.support("").unwrap().supported, 0);
        assert!(claims.check(&claim_of(vec![item(&receipt, 0, "CC-100")])).is_ok());
        // A receipt that names another original is none of its returns.
        let unrelated = [refund_of(&signed(night(9)), 10_000, "SEK")];
        let claims = ReceiptClaims { receipt: &receipt, returns: &unrelated, other_claims: &[] };
        assert_eq!(claims.support("").unwrap().supported, 162_400);
    }

    #[test]
    fn a_return_in_another_currency_cannot_be_netted() {
        let receipt = signed(night(1));
        let returns = [refund_of(&receipt, 100, "EUR")];
        let claims = ReceiptClaims { receipt: &receipt, returns: &returns, other_claims: &[] };
        let error = claims.check(&claim_of(vec![item(&receipt, 1, "CC-100")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::ReceiptCurrency, "items[0].receipt"));
    }

    #[test]
    fn other_live_claims_and_items_split_across_cost_centers_count_together() {
        let receipt = signed(night(1));
        let others = [signed(claim_of(vec![item(&receipt, 40_000, "CC-100")]))];
        let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &others };
        assert_eq!(claims.claimed_elsewhere(), 40_000);
        let split =
            |second: i64| claim_of(vec![item(&receipt, 10_000, "CC-100"), item(&receipt, second, "CC-200")]);
        assert!(claims.check(&split(112_400)).is_ok());
        let error = claims.check(&split(112_401)).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::OverClaim, "items[1].amount"));
        assert!(error.detail().ends_with("; 400.00 SEK of it in other claims"), "{error}");
        // An item elsewhere without an amount in the receipt's currency takes it all.
        let others = [signed(claim_of(vec![foreign_item(&receipt, 1, "EUR")]))];
        let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &others };
        assert_eq!(claims.claimed_elsewhere(), MAX_AMOUNT_MINOR);
        let error = claims.check(&claim_of(vec![item(&receipt, 0, "CC-100")])).unwrap_err();
        assert_eq!(error.code(), ErrorCode::OverClaim, "the sum over live claims is over already");
    }

    #[test]
    fn a_foreign_receipt_is_compared_in_its_own_currency() {
        let receipt = signed(Receipt { currency: "EUR".into(), ..night(1) });
        let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &[] };
        // The SEK amount, about 11 times the total, is not what is compared.
        assert!(claims.check(&claim_of(vec![foreign_item(&receipt, 162_400, "EUR")])).is_ok());
        let error = claims.check(&claim_of(vec![foreign_item(&receipt, 162_401, "EUR")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::OverClaim, "items[0].foreign.amount"));
        assert!(error.detail().starts_with("1624.01 EUR claimed"), "{error}");
        let error = claims.check(&claim_of(vec![foreign_item(&receipt, 100, "USD")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::ReceiptCurrency, "items[0].foreign.currency"));
        let error = claims.check(&claim_of(vec![item(&receipt, 1, "CC-100")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::ReceiptCurrency, "items[0].foreign"));
        // A SEK receipt with a foreign amount is refused the other way round.
        let swedish = signed(night(2));
        let claims = ReceiptClaims { receipt: &swedish, returns: &[], other_claims: &[] };
        let error = claims.check(&claim_of(vec![foreign_item(&swedish, 100, "EUR")])).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::ReceiptCurrency, "items[0].foreign"));
    }

    #[test]
    fn items_of_other_receipts_are_not_this_rules_business() {
        let receipt = signed(night(1));
        let other = signed(night(7));
        let claims = ReceiptClaims { receipt: &receipt, returns: &[], other_claims: &[] };
        assert!(claims.check(&claim_of(vec![item(&other, MAX_AMOUNT_MINOR, "CC-100")])).is_ok());
    }
}
