//! The messages a session sends match the CDDL of spec/reconcile.md.

use super::*;

/// The CDDL block of spec/reconcile.md.
fn spec_cddl() -> String {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/reconcile.md")).unwrap();
    let start = spec.find("```cddl\n").expect("a cddl block") + "```cddl\n".len();
    let length = spec[start..].find("```").unwrap();
    spec[start..start + length].to_owned()
}

#[test]
fn every_message_a_session_sends_matches_the_spec_cddl() {
    let document = spec_cddl();
    let schema = cddl::parser::cddl_from_str(&document, false)
        .unwrap_or_else(|error| panic!("spec/reconcile.md's CDDL does not parse: {error}"));
    let check = |frame: &[u8]| {
        let value: ciborium::value::Value = ciborium::from_reader(frame).unwrap();
        let mut validator = cddl::validator::cbor::CBORValidator::new(&schema, value.into(), None);
        cddl::validator::Validator::validate(&mut validator).map_err(|error| error.to_string())
    };
    let validate = |frame: &[u8]| {
        if let Err(error) = check(frame) {
            panic!("{:?} does not match the spec: {error}", Message::decode(frame));
        }
    };
    // The schema does refuse what the decoder refuses.
    let short_estimator = kvitt_protocol::cbor::encode(&Message::Hello {
        version: 1,
        salt: Salt([1; 16]),
        count: 0,
        fingerprint: kvitt_protocol::reconcile::Fingerprint([0; 16]),
        estimator: vec![0; 255],
    })
    .unwrap();
    assert!(check(&short_estimator).is_err());
    // Sessions that send: hello and same; symbols, decoded and resolved; lists.
    let mut kinds = BTreeSet::new();
    for (common, only_ours, only_theirs) in [(50, 0, 0), (300, 80, 90), (0, 7, 9)] {
        let (ours, theirs, _) = sets(21, common, only_ours, only_theirs, 100);
        let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
        let mut responder = Responder::new(&theirs).unwrap();
        let mut frame = initiator.start().unwrap();
        loop {
            validate(&frame);
            kinds.insert(Message::decode(&frame).unwrap().kind());
            let answer = match responder.receive(&frame).unwrap() {
                Step::Send(bytes) | Step::Done { last: Some(bytes), .. } => bytes,
                Step::Done { last: None, .. } => break,
            };
            validate(&answer);
            kinds.insert(Message::decode(&answer).unwrap().kind());
            match initiator.receive(&answer).unwrap() {
                Step::Send(bytes) | Step::Done { last: Some(bytes), .. } => frame = bytes,
                Step::Done { last: None, .. } => break,
            }
        }
    }
    // And the frames those sessions happened not to need.
    let later = [
        Message::More { symbols: 16 },
        Message::Symbols { count: None, fingerprint: None, start: 30, symbols: vec![1; 2 * SYMBOL_BYTES] },
        Message::List { count: None, items: vec![2; ITEM_BYTES], done: false },
        Message::Decoded { count: None, fingerprint: None, tags: vec![], done: true },
    ];
    for message in later {
        validate(&encode(&message));
        kinds.insert(message.kind());
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
}
