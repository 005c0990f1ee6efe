//! No input panics: arbitrary bytes, value trees under a valid signature, mangled records
//! and records with wild numbers reach every decoder and the rules without a panic.

use ciborium::value::Value;
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{Request, Response};
use kvitt_protocol::{cbor, AnyRecord, Record, RecordType, Signed};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

use crate::strategies::{claim, counter_key, forge, forge_value, receipt};
use crate::{fail, signed_record};

/// Feeds `bytes` to every decoder; each must return, whatever it returns.
fn decode_everything(bytes: &[u8]) {
    let _ = cbor::decode(bytes);
    let _ = AnyRecord::decode(bytes);
    let _ = Signed::<Receipt>::decode(bytes);
    let _ = Signed::<Claim>::decode(bytes);
    let _ = Signed::<ClaimEvent>::decode(bytes);
    let _ = Signed::<Directory>::decode(bytes);
    let _ = Signed::<Evidence>::decode(bytes);
    let _ = Request::decode(bytes);
    let _ = Response::decode(bytes);
}

/// A CBOR value tree in the kvitt profile: integers of every width, texts, byte strings,
/// booleans, arrays and text-keyed maps, nested up to four levels.
fn cbor_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|number| Value::Integer(number.into())),
        any::<u64>().prop_map(|number| Value::Integer(number.into())),
        (0u64..=u64::MAX).prop_map(|number| Value::Integer((-1 - i128::from(number)).try_into().unwrap())),
        "[a-z_]{0,12}|.{0,8}".prop_map(Value::Text),
        vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            vec(("[a-z_]{1,12}", inner), 0..8).prop_map(|entries| {
                let mut seen = std::collections::BTreeSet::new();
                Value::Map(
                    entries
                        .into_iter()
                        .filter(|(key, _)| seen.insert(key.clone()))
                        .map(|(key, item)| (Value::Text(key), item))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary bytes, up to 2 KiB, make no decoder panic: `cbor::decode`,
    /// `AnyRecord::decode`, every typed decoder, and the wire messages. 1024 cases.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..=2048)) {
        decode_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any value tree in the profile, canonically encoded, decodes to itself and
    /// re-encodes to the same bytes. 256 cases.
    #[test]
    fn canonical_values_round_trip(value in cbor_value()) {
        let value = cbor::to_value(&value).map_err(|error| fail("to_value", error))?;
        let bytes = cbor::encode_value(&value);
        let decoded = cbor::decode(&bytes).map_err(|error| fail("decode", error))?;
        prop_assert_eq!(&decoded, &value);
        prop_assert_eq!(cbor::encode_value(&decoded), bytes);
    }

    /// Any value tree as the body of a correctly signed envelope of any type, so that
    /// decoding reaches the schema and the rules, makes no decoder panic. 256 cases.
    #[test]
    fn arbitrary_bodies_under_a_valid_signature_never_panic(
        body in cbor_value(),
        kind in select(RecordType::ALL.to_vec()),
        seed in any::<u64>(),
    ) {
        decode_everything(&forge_value(kind, body, &counter_key(seed)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary bytes spliced into a valid record (1-8 bytes overwritten, then perhaps cut
    /// or extended) make no decoder panic. 128 cases.
    #[test]
    fn mangled_records_never_panic(
        (_, bytes) in signed_record(),
        changes in vec((any::<Index>(), any::<u8>()), 1..=8),
        tail in vec(any::<u8>(), 0..4),
        cut in any::<Index>(),
    ) {
        let mut mangled = bytes.clone();
        for (at, byte) in changes {
            let at = at.index(mangled.len());
            mangled[at] = byte;
        }
        decode_everything(&mangled);
        mangled.extend_from_slice(&tail);
        decode_everything(&mangled);
        mangled.truncate(cut.index(mangled.len() + 1));
        decode_everything(&mangled);
    }
}

/// A numeric field of a receipt set to an arbitrary value.
fn wild_receipt() -> impl Strategy<Value = Receipt> {
    (receipt(), vec((0usize..12, any::<Index>(), any::<i64>()), 1..=4)).prop_map(|(mut receipt, changes)| {
        for (field, at, value) in changes {
            let line = at.index(receipt.lines.len());
            let payment = at.index(receipt.payments.len());
            match field {
                0 => receipt.rounding = value,
                1 => receipt.total = value,
                2 => receipt.lines[line].quantity = Some(value),
                3 => receipt.lines[line].unit_price = Some(value),
                4 => receipt.lines[line].amount = Some(value),
                5 => receipt.lines[line].vat_rate = Some(value as u32),
                6 => receipt.lines[line].discounts.iter_mut().for_each(|discount| discount.amount = value),
                7 => match &mut receipt.payments[payment] {
                    kvitt_protocol::receipt::Payment::Cash { amount }
                    | kvitt_protocol::receipt::Payment::Card { amount, .. }
                    | kvitt_protocol::receipt::Payment::Swish { amount, .. }
                    | kvitt_protocol::receipt::Payment::GiftCard { amount, .. }
                    | kvitt_protocol::receipt::Payment::Other { amount, .. } => *amount = value,
                },
                8 => receipt.vat.iter_mut().for_each(|row| row.gross = value),
                9 => receipt.vat.iter_mut().for_each(|row| row.vat = value),
                10 => receipt.serial = value as u64,
                _ => receipt.payments.iter_mut().for_each(|payment| {
                    if let kvitt_protocol::receipt::Payment::Cash { amount } = payment {
                        *amount = value;
                    }
                }),
            }
        }
        receipt
    })
}

/// A numeric field of a claim item set to an arbitrary value.
fn wild_claim() -> impl Strategy<Value = Claim> {
    (claim(), vec((0usize..10, any::<Index>(), any::<i64>()), 1..=4)).prop_map(|(mut claim, changes)| {
        for (field, at, value) in changes {
            let item = at.index(claim.items.len());
            match (&mut claim.items[item], field) {
                (ClaimItem::Receipt { amount, .. }, 0..=3) => *amount = value,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 4..=5) => foreign.amount = value,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 6) => foreign.rate.value = value as u64,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 7) => foreign.rate.scale = value as u32,
                (ClaimItem::Mileage { km, .. }, 0..=1) => *km = value as u32,
                (ClaimItem::Mileage { rate_per_km, .. }, 2..=3) => *rate_per_km = value,
                (ClaimItem::Mileage { amount, .. }, 4..=5) => *amount = value,
                (ClaimItem::PerDiem { days, .. }, 0) => *days = value as u32,
                (ClaimItem::PerDiem { daily_amount, .. }, 1..=2) => *daily_amount = value,
                (ClaimItem::PerDiem { meal_reduction, .. }, 3) => *meal_reduction = value,
                (ClaimItem::PerDiem { meals, .. }, 4) => meals.lunches = value as u32,
                (ClaimItem::PerDiem { amount, .. }, 5..=6) => *amount = value,
                (item, _) => {
                    let booking = match item {
                        ClaimItem::Receipt { booking, .. }
                        | ClaimItem::Mileage { booking, .. }
                        | ClaimItem::PerDiem { booking, .. } => booking,
                    };
                    booking.account = value as u16;
                }
            }
        }
        claim
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Receipts with arbitrary numbers in their numeric fields (quantities, prices,
    /// amounts, rates, rounding, totals, payments, VAT rows) make neither `validate` nor
    /// `AnyRecord::decode` of a correctly signed envelope around them panic: such bodies
    /// reach the rules from the network. 128 cases.
    #[test]
    fn receipts_with_wild_numbers_never_panic(receipt in wild_receipt(), seed in any::<u64>()) {
        let _ = receipt.validate();
        let _ = AnyRecord::decode(&forge(RecordType::Receipt, &receipt, &counter_key(seed)));
    }

    /// Claims with arbitrary numbers in their items' numeric fields (amounts, foreign
    /// amounts and rates, km, rates per km, days, daily amounts, meals, accounts) make
    /// neither `validate` nor `AnyRecord::decode` panic. 128 cases.
    #[test]
    fn claims_with_wild_numbers_never_panic(claim in wild_claim(), seed in any::<u64>()) {
        let _ = claim.validate();
        let _ = AnyRecord::decode(&forge(RecordType::Claim, &claim, &counter_key(seed)));
    }
}
