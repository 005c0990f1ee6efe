//! Each fixture record signs, decodes back to itself and keeps its bytes and id.
use kvitt_test_support::named;

use kvitt_protocol::{AnyRecord, Record, Signed};

fn round_trip<T: Record + PartialEq>(body: T, signer: &str) -> Signed<T> {
    let signed = Signed::sign(body.clone(), &named::key(signer)).unwrap();
    let decoded = Signed::<T>::decode(signed.bytes()).unwrap();
    assert_eq!(decoded.body(), &body);
    assert_eq!(decoded.id(), signed.id());
    assert_eq!(decoded.signer(), named::public(signer));
    let any = AnyRecord::decode(signed.bytes()).unwrap();
    assert_eq!(any.id(), signed.id());
    signed
}

#[test]
fn every_fixture_round_trips() {
    let receipt = round_trip(named::receipt(), "merchant");
    let claim = round_trip(named::claim(receipt.id(), receipt.body().total), "agency");
    round_trip(named::submitted(claim.id()), "agency");
    round_trip(named::directory(), "operator");
}
