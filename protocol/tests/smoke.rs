//! Each fixture record signs, decodes back to itself and keeps its bytes and id.
mod common;

use kvitt_protocol::{AnyRecord, Record, Signed};

fn round_trip<T: Record + PartialEq>(body: T, signer: &str) -> Signed<T> {
    let signed = Signed::sign(body.clone(), &common::key(signer)).unwrap();
    let decoded = Signed::<T>::decode(signed.bytes()).unwrap();
    assert_eq!(decoded.body(), &body);
    assert_eq!(decoded.id(), signed.id());
    assert_eq!(decoded.signer(), common::public(signer));
    let any = AnyRecord::decode(signed.bytes()).unwrap();
    assert_eq!(any.id(), signed.id());
    signed
}

#[test]
fn every_fixture_round_trips() {
    let receipt = round_trip(common::receipt(), "merchant");
    let claim = round_trip(common::claim(receipt.id(), receipt.body().total), "agency");
    round_trip(common::submitted(claim.id()), "agency");
    round_trip(common::directory(), "operator");
}
