//! The generator: runs the reference state machines against each other (and, for
//! refusals, hands one side a doctored frame) to make each vector; `render` writes it
//! as the committed JSON.

use super::*;

// ---------------------------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------------------------

pub(super) fn kinds(frames: &[Frame]) -> Vec<&'static str> {
    frames.iter().map(|frame| Message::decode(&frame.bytes).unwrap().kind()).collect()
}

/// A whole session between the sets, the initiator's salt from `salt_label`; the frames' kinds must be
/// `expected` (so that a vector keeps showing what its name says).
pub(super) fn session(
    name: &str,
    salt_label: &str,
    description: &str,
    initiator: Vec<Item>,
    responder: Vec<Item>,
    expected: &[&str],
) -> Vector {
    let (initiator, responder) = (Side::initiator(salt_label, initiator), Side::responder(responder));
    let (frames, initiator_outcome, responder_outcome) = live_session(&initiator, &responder);
    assert_eq!(kinds(&frames), expected, "{name}: the session's frames");
    Vector {
        name: name.to_owned(),
        description: description.to_owned(),
        initiator,
        responder,
        frames,
        end: End::Session { initiator: initiator_outcome, responder: responder_outcome },
    }
}

/// The setting of refusal vectors: two sets, and the honest session between them.
pub(super) struct Setting {
    pub(super) label: &'static str,
    pub(super) initiator: Vec<Item>,
    pub(super) responder: Vec<Item>,
}

impl Setting {
    pub(super) fn sides(&self) -> (Side, Side) {
        (Side::initiator(self.label, self.initiator.clone()), Side::responder(self.responder.clone()))
    }

    /// The honest session's frames.
    pub(super) fn honest(&self) -> Vec<Frame> {
        let (initiator, responder) = self.sides();
        live_session(&initiator, &responder).0
    }

    /// The honest message at `index`.
    pub(super) fn message(&self, index: usize) -> Message {
        Message::decode(&self.honest()[index].bytes).unwrap()
    }

    /// The receiver of frame `at` of the honest session is handed `bad` instead, after the
    /// honest frames before it; it must refuse it with an error `expected` accepts.
    pub(super) fn refusal(
        &self,
        name: &str,
        description: &str,
        at: usize,
        state: &'static str,
        bad: Vec<u8>,
        expected: impl Fn(&ReconcileError) -> bool,
    ) -> Vector {
        let (initiator, responder) = self.sides();
        let mut frames = self.honest();
        let from = if at == 0 { Role::Initiator } else { frames[at].from };
        frames.truncate(at);
        let receiver = from.peer();
        let side = match receiver {
            Role::Initiator => &initiator,
            Role::Responder => &responder,
        };
        let mut replayed = replay(receiver, side, &frames).unwrap();
        let error = replayed.machine.receive(&bad).expect_err(name);
        assert!(expected(&error), "{name}: refused with {error:?}");
        Vector {
            name: name.to_owned(),
            description: description.to_owned(),
            initiator,
            responder,
            frames,
            end: End::Refusal { receiver, state, frame: Frame { from, bytes: bad }, error },
        }
    }
}

/// The message with its map's entries changed, encoded as it stands (not checked, so it may
/// break the schema; still canonical CBOR unless `change` makes it otherwise).
pub(super) fn doctored(message: &Message, change: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut value = cbor::to_value(message).unwrap();
    let Value::Map(entries) = &mut value else { panic!("a message is a map") };
    change(entries);
    cbor::encode_value(&cbor::to_value(&value).unwrap())
}

pub(super) fn entry<'a>(entries: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
    &mut entries.iter_mut().find(|(name, _)| name.as_text() == Some(key)).unwrap().1
}

pub(super) use kvitt_test_support::bytes::replace_once;

pub(super) fn generate() -> Vec<Vector> {
    let mut vectors = vec![
        session(
            "session-identical",
            "session-identical",
            "Equal sets of 40 items (pool 0-39): the hello's count and fingerprint equal the \
             responder's, which answers `same` as its last frame. One round trip; both outcomes \
             are empty.",
            pool(0..40),
            pool(0..40),
            &["hello", "same"],
        ),
        session(
            "session-empty",
            "session-empty",
            "Both sets empty: count 0, fingerprint and every counter zero; the responder answers \
             `same`.",
            vec![],
            vec![],
            &["hello", "same"],
        ),
        session(
            "session-symbols",
            "session-symbols 0",
            "150 items in common (pool 30-179), 30 only at the initiator (pool 0-29), 25 only at \
             the responder (pool 180-204). The responder sends one batch of coded symbols sized by \
             the estimate, which decodes; the initiator sends the 30 ids the responder lacks and \
             the tags of the 25 it lacks (`decoded`), and the responder answers with their ids \
             (`resolved`) as its last frame. Two round trips.",
            pool(0..180),
            pool(30..205),
            &["hello", "symbols", "decoded", "resolved"],
        ),
        session(
            "session-symbols-more",
            "session-symbols-more 52",
            "80 items in common (pool 310-389), 12 only at the initiator (pool 300-309 and \
             390-391), 10 only at the responder (pool 392-401). The estimate falls short (salts \
             chosen so): the first batch of symbols does not decode, the initiator asks for \
             `more` (half the symbols received, at least 16), and the second batch, starting where \
             the first ended, decodes.",
            pool(300..392),
            pool((310..390).chain(392..402)),
            &["hello", "symbols", "more", "symbols", "decoded", "resolved"],
        ),
        session(
            "session-symbols-one-sided",
            "session-symbols-one-sided",
            "The responder holds a subset: 50 items in common (pool 500-549), 10 only at the \
             initiator (pool 550-559). The `decoded` carries 10 ids and no tags, and the \
             responder's `resolved` is empty.",
            pool(500..560),
            pool(500..550),
            &["hello", "symbols", "decoded", "resolved"],
        ),
        session(
            "session-lists-initiator-empty",
            "session-lists-initiator-empty",
            "The initiator holds nothing, the responder 40 items (pool 600-639): the responder \
             starts a list exchange (its first list carries its count), and the initiator \
             answers with its own, empty, list as its last frame.",
            vec![],
            pool(600..640),
            &["hello", "list", "list"],
        ),
        session(
            "session-lists-responder-empty",
            "session-lists-responder-empty",
            "The responder holds nothing, the initiator 30 items (pool 700-729): the responder's \
             first list is empty (with its count, 0), and the initiator's list of 30 is \
             its last frame.",
            pool(700..730),
            vec![],
            &["hello", "list", "list"],
        ),
    ];
    // Most items differ, and one id is held by both at different times.
    let moved = pool_item(1000);
    let mut initiator = pool(800..850);
    initiator.push(moved);
    initiator.sort_unstable();
    let mut responder = pool(845..900);
    responder.push(Item { time: moved.time + 1, ..moved });
    responder.sort_unstable();
    vectors.push(session(
        "session-lists-mostly-different",
        "session-lists-mostly-different",
        "5 items in common (pool 845-849), 45 only at the initiator (pool 800-844), 50 only at \
         the responder (pool 850-899), and pool item 1000's id at both, one second later at the \
         responder. The estimated difference makes lists cheaper than symbols: the responder \
         lists its 56 items, the initiator its 51 as its last frame. The id held at two times is \
         in neither outcome (the id names the item).",
        initiator,
        responder,
        &["hello", "list", "list"],
    ));
    vectors.extend(refusals());
    vectors
}

pub(super) const WAITING_FOR_HELLO: &str = "waiting for the hello";
pub(super) const WAITING_FOR_ANSWER: &str = "waiting for the responder's first answer";
pub(super) const SENDING_SYMBOLS: &str = "sending coded symbols";
pub(super) const EXCHANGING_DECODED: &str = "exchanging the decoded difference";

pub(super) fn refusals() -> Vec<Vector> {
    let mut vectors = Vec::new();

    // The responder, waiting for the hello.
    let small = Setting { label: "refuse-hello", initiator: pool(1100..1103), responder: pool(1101..1104) };
    let hello = small.message(0);
    let Message::Hello { count, estimator, .. } = hello.clone() else { panic!("not a hello") };
    vectors.push(small.refusal(
        "refuse-hello-version-2",
        "The initiator's honest hello for 3 items (pool 1100-1102), but of version 2.",
        0,
        WAITING_FOR_HELLO,
        doctored(&hello, |entries| *entry(entries, "version") = Value::Integer(2.into())),
        |error| *error == ReconcileError::Version { version: 2 },
    ));
    vectors.push(small.refusal(
        "refuse-hello-estimator-short",
        "The honest hello with its estimator cut to 254 bytes (127 counters): a hello's \
         estimator is exactly 256 bytes.",
        0,
        WAITING_FOR_HELLO,
        doctored(&hello, |entries| {
            *entry(entries, "estimator") = Value::Bytes(estimator[..254].to_vec());
        }),
        |error| matches!(error, ReconcileError::Malformed { .. }),
    ));
    let mut even = estimator.clone();
    even[..2].copy_from_slice(&[0, 0]);
    vectors.push(small.refusal(
        "refuse-hello-estimator-parity",
        "The honest hello with counter 0 set to 0: a set of 3 items has odd counters, so no \
         set of that count has this estimator.",
        0,
        WAITING_FOR_HELLO,
        doctored(&hello, |entries| *entry(entries, "estimator") = Value::Bytes(even)),
        |error| matches!(error, ReconcileError::WrongCount { announced: 3, .. }),
    ));
    vectors.push(small.refusal(
        "refuse-hello-count-over-limit",
        "The honest hello claiming 2,097,153 items, one over MAX_RECONCILE_ITEMS (its odd \
         counters fit an odd count of that size).",
        0,
        WAITING_FOR_HELLO,
        doctored(&hello, |entries| {
            *entry(entries, "count") = Value::Integer((MAX_RECONCILE_ITEMS as u64 + 1).into());
        }),
        |error| matches!(error, ReconcileError::TooMany { what: "peer's items", .. }),
    ));
    let honest_hello = small.honest()[0].bytes.clone();
    assert_eq!(count, 3);
    vectors.push(small.refusal(
        "refuse-hello-non-canonical",
        "The honest hello with its count 3 encoded in two bytes (0x18 0x03) instead of one: \
         not the one deterministic encoding.",
        0,
        WAITING_FOR_HELLO,
        replace_once(&honest_hello, b"\x65count\x03", b"\x65count\x18\x03"),
        |error| matches!(error, ReconcileError::Malformed { .. }),
    ));
    vectors.push(small.refusal(
        "refuse-hello-unknown-field",
        "The honest hello with one more field, `extra: 0`: messages have no unknown fields.",
        0,
        WAITING_FOR_HELLO,
        doctored(&hello, |entries| entries.push((Value::Text("extra".into()), Value::Integer(0.into())))),
        |error| matches!(error, ReconcileError::Malformed { .. }),
    ));
    vectors.push(small.refusal(
        "refuse-unknown-kind",
        "A message of an unknown kind, {\"kind\": \"bye\"}.",
        0,
        WAITING_FOR_HELLO,
        cbor::encode_value(&Value::Map(vec![(Value::Text("kind".into()), Value::Text("bye".into()))])),
        |error| matches!(error, ReconcileError::Malformed { .. }),
    ));
    vectors.push(small.refusal(
        "refuse-more-before-hello",
        "A well-formed `more` where the responder waits for the hello.",
        0,
        WAITING_FOR_HELLO,
        encode(&Message::More { symbols: 16 }),
        |error| matches!(error, ReconcileError::Unexpected { kind: "more", .. }),
    ));

    // Symbols: the initiator waiting for the first answer, the responder sending symbols,
    // the initiator waiting for `resolved`.
    let symbols =
        Setting { label: "refuse-symbols", initiator: pool(1200..1220), responder: pool(1200..1223) };
    assert_eq!(kinds(&symbols.honest()), ["hello", "symbols", "decoded", "resolved"]);
    let answer = symbols.message(1);
    vectors.push(symbols.refusal(
        "refuse-symbols-wrong-start",
        "The responder's honest first `symbols` (the initiator holds pool 1200-1219, the \
         responder also 1220-1222), but with start 1: the first batch starts at 0.",
        1,
        WAITING_FOR_ANSWER,
        doctored(&answer, |entries| *entry(entries, "start") = Value::Integer(1.into())),
        |error| matches!(error, ReconcileError::Malformed { .. }),
    ));
    vectors.push(symbols.refusal(
        "refuse-symbols-missing-count",
        "The responder's honest first `symbols` without its count and fingerprint: a \
         later batch's form, where the first answer must carry all three.",
        1,
        WAITING_FOR_ANSWER,
        doctored(&answer, |entries| {
            entries.retain(|(name, _)| !matches!(name.as_text(), Some("count" | "fingerprint")));
        }),
        |error| matches!(error, ReconcileError::Unexpected { kind: "symbols", .. }),
    ));
    vectors.push(symbols.refusal(
        "refuse-second-hello",
        "The initiator's hello again, after the responder has sent its symbols.",
        2,
        SENDING_SYMBOLS,
        symbols.honest()[0].bytes.clone(),
        |error| matches!(error, ReconcileError::Unexpected { kind: "hello", .. }),
    ));
    let decoded = symbols.message(2);
    let Message::Decoded { tags, .. } = decoded.clone() else { panic!("not decoded") };
    assert_eq!(tags.len(), 3 * TAG_BYTES);
    vectors.push(symbols.refusal(
        "refuse-decoded-unsorted-tags",
        "The initiator's honest `decoded` with its three tags in descending order: tags go \
         ascending.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| {
            let reversed: Vec<u8> = tags.chunks(TAG_BYTES).rev().flatten().copied().collect();
            *entry(entries, "tags") = Value::Bytes(reversed);
        }),
        |error| *error == ReconcileError::PeerUnsorted { what: "decoded tags" },
    ));
    let mut unknown = tags.clone();
    unknown[3 * TAG_BYTES - 1] ^= 1;
    vectors.push(symbols.refusal(
        "refuse-decoded-unknown-tag",
        "The initiator's honest `decoded` with the last bit of its last tag flipped: no item of \
         the responder has that tag.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| *entry(entries, "tags") = Value::Bytes(unknown)),
        |error| *error == ReconcileError::UnknownTag,
    ));
    vectors.push(symbols.refusal(
        "refuse-decoded-wrong-count",
        "The initiator's honest `decoded` saying the responder lacks one item more than the \
         difference holds: the counts do not reconcile.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| {
            let Value::Integer(count) = entry(entries, "count") else { panic!("no count") };
            *entry(entries, "count") = Value::Integer((u64::try_from(*count).unwrap() + 1).into());
        }),
        |error| matches!(error, ReconcileError::WrongCount { what: "items", .. }),
    ));
    vectors.push(symbols.refusal(
        "refuse-decoded-wrong-fingerprint",
        "The initiator's honest `decoded` with the last bit of its fingerprint (the digest sum \
         of the items the responder lacks) flipped: the counts agree, the fingerprints do not.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| {
            let Value::Bytes(fingerprint) = entry(entries, "fingerprint") else { panic!("no fingerprint") };
            fingerprint[15] ^= 1;
        }),
        |error| *error == ReconcileError::Verification,
    ));
    vectors.push(symbols.refusal(
        "refuse-decoded-missing-count",
        "The initiator's honest first `decoded` without its count and fingerprint: a later \
         `decoded`'s form, where the first must carry both.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| {
            entries.retain(|(name, _)| !matches!(name.as_text(), Some("count" | "fingerprint")));
        }),
        |error| matches!(error, ReconcileError::Unexpected { kind: "decoded", .. }),
    ));
    // A tag of an item both hold in place of one the initiator lacks: every check on its own
    // passes, and only the fingerprints tell.
    let (initiator_side, _) = symbols.sides();
    let keys = SpecKeys::new(&initiator_side.initiator_salt().unwrap());
    let mut swapped: Vec<u64> =
        tags.chunks(TAG_BYTES).skip(1).map(|tag| u64::from_be_bytes(tag.try_into().unwrap())).collect();
    swapped.push(keys.tag(&pool_item(1200)));
    swapped.sort_unstable();
    vectors.push(symbols.refusal(
        "refuse-decoded-wrong-difference",
        "The initiator's honest `decoded` with its first tag replaced by the tag of pool item \
         1200, which both hold (tags re-sorted): the counts still agree, but the outcome does not \
         turn one fingerprint into the other.",
        2,
        SENDING_SYMBOLS,
        doctored(&decoded, |entries| {
            *entry(entries, "tags") =
                Value::Bytes(swapped.iter().flat_map(|tag| tag.to_be_bytes()).collect());
        }),
        |error| *error == ReconcileError::Verification,
    ));
    let resolved = symbols.message(3);
    let Message::Resolved { ids } = resolved.clone() else { panic!("not resolved") };
    let mut wrong = ids.clone();
    wrong[..ID_BYTES].copy_from_slice(&pool_item(1200).id.0);
    vectors.push(symbols.refusal(
        "refuse-resolved-wrong-id",
        "The responder's honest `resolved` with its first id replaced by pool item 1200's, \
         whose tag is not the one asked for.",
        3,
        EXCHANGING_DECODED,
        doctored(&resolved, |entries| *entry(entries, "ids") = Value::Bytes(wrong)),
        |error| *error == ReconcileError::WrongTag,
    ));
    vectors.push(symbols.refusal(
        "refuse-resolved-too-few",
        "The responder's honest `resolved` without its last id: two ids for three tags.",
        3,
        EXCHANGING_DECODED,
        doctored(&resolved, |entries| *entry(entries, "ids") = Value::Bytes(ids[..2 * ID_BYTES].to_vec())),
        |error| matches!(error, ReconcileError::WrongCount { what: "resolved ids", .. }),
    ));

    // Lists: the initiator holds nothing, so the responder's first answer is a list.
    let lists = Setting { label: "refuse-list", initiator: vec![], responder: pool(1300..1305) };
    assert_eq!(kinds(&lists.honest()), ["hello", "list", "list"]);
    let list = lists.message(1);
    let Message::List { items, .. } = list.clone() else { panic!("not a list") };
    vectors.push(lists.refusal(
        "refuse-list-unsorted",
        "The responder's honest first list (pool 1300-1304; the initiator holds nothing) with \
         its first two items swapped: lists go ascending.",
        1,
        WAITING_FOR_ANSWER,
        doctored(&list, |entries| {
            let swapped =
                [&items[ITEM_BYTES..2 * ITEM_BYTES], &items[..ITEM_BYTES], &items[2 * ITEM_BYTES..]].concat();
            *entry(entries, "items") = Value::Bytes(swapped);
        }),
        |error| *error == ReconcileError::PeerUnsorted { what: "listed items" },
    ));
    vectors.push(lists.refusal(
        "refuse-list-over-count",
        "The responder's honest first list of 5 items announcing a count of 4.",
        1,
        WAITING_FOR_ANSWER,
        doctored(&list, |entries| *entry(entries, "count") = Value::Integer(4.into())),
        |error| *error == ReconcileError::WrongCount { what: "items", announced: 4, implied: 5 },
    ));
    vectors
}
