//! Peers that lie: every way a frame can be wrong ends the session with a typed error.

use super::*;

fn responder_error(items: &[Item], frames: &[Vec<u8>]) -> ReconcileError {
    let mut responder = Responder::new(items).unwrap();
    for frame in frames {
        if let Err(error) = responder.receive(frame) {
            assert_eq!(responder.receive(frame), Err(ReconcileError::Finished));
            return error;
        }
    }
    panic!("no error");
}

/// A real hello for `ours`, and the responder's first answer to it.
fn opening(ours: &[Item], theirs: &[Item]) -> (Vec<u8>, Responder<'static>, Message) {
    let ours: &'static [Item] = Box::leak(ours.to_vec().into_boxed_slice());
    let theirs: &'static [Item] = Box::leak(theirs.to_vec().into_boxed_slice());
    let mut initiator = Initiator::new(ours, Salt([1; 16])).unwrap();
    let hello = initiator.start().unwrap();
    let mut responder = Responder::new(theirs).unwrap();
    let Step::Send(answer) = responder.receive(&hello).unwrap() else { panic!("finished at once") };
    (hello, responder, Message::decode(&answer).unwrap())
}

fn hello_with(count: u64, estimator: Vec<u8>) -> Vec<u8> {
    encode(&Message::Hello {
        version: 1,
        salt: Salt([1; 16]),
        count,
        fingerprint: kvitt_protocol::reconcile::Fingerprint([0; 16]),
        estimator,
    })
}

fn list(items: &[Item], done: bool) -> Vec<u8> {
    encode(&Message::List { count: None, items: items.iter().flat_map(Item::to_bytes).collect(), done })
}

#[test]
fn frames_over_the_limit_are_refused_before_decoding() {
    let at_limit = vec![0xff; MAX_RECONCILE_FRAME_BYTES];
    assert!(matches!(responder_error(&[], &[at_limit]), ReconcileError::Malformed { .. }));
    let over = vec![0u8; MAX_RECONCILE_FRAME_BYTES + 1];
    assert_eq!(
        responder_error(&[], std::slice::from_ref(&over)),
        ReconcileError::FrameTooLarge {
            bytes: MAX_RECONCILE_FRAME_BYTES + 1,
            limit: MAX_RECONCILE_FRAME_BYTES
        }
    );
    let mut initiator = Initiator::new(&[], Salt([0; 16])).unwrap();
    initiator.start().unwrap();
    assert!(matches!(initiator.receive(&over), Err(ReconcileError::FrameTooLarge { .. })));
    assert_eq!(initiator.receive(&over), Err(ReconcileError::Finished));
}

#[test]
fn malformed_frames_versions_and_misplaced_messages_are_refused() {
    assert!(matches!(responder_error(&[], &[b"not cbor".to_vec()]), ReconcileError::Malformed { .. }));
    let short_estimator = kvitt_protocol::cbor::encode(&Message::Hello {
        version: 1,
        salt: Salt([1; 16]),
        count: 0,
        fingerprint: kvitt_protocol::reconcile::Fingerprint([0; 16]),
        estimator: vec![0; 5],
    })
    .unwrap();
    assert!(matches!(responder_error(&[], &[short_estimator]), ReconcileError::Malformed { .. }));
    let hello = encode(&Message::Hello {
        version: 2,
        salt: Salt([1; 16]),
        count: 0,
        fingerprint: kvitt_protocol::reconcile::Fingerprint([0; 16]),
        estimator: vec![0; 2 * ESTIMATOR_COUNTERS],
    });
    assert_eq!(responder_error(&[], &[hello]), ReconcileError::Version { version: 2 });
    assert!(matches!(
        responder_error(&[], &[encode(&Message::More { symbols: 1 })]),
        ReconcileError::Unexpected { kind: "more", .. }
    ));
    // A second hello.
    let (ours, theirs, _) = sets(6, 50, 0, 5, 100);
    let (hello, _, _) = opening(&ours, &theirs);
    assert!(matches!(
        responder_error(&theirs, &[hello.clone(), hello.clone()]),
        ReconcileError::Unexpected { .. }
    ));
    // The initiator is sent a hello.
    let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
    initiator.start().unwrap();
    assert!(matches!(initiator.receive(&hello), Err(ReconcileError::Unexpected { kind: "hello", .. })));
    assert!(matches!(initiator.start(), Err(ReconcileError::Unexpected { .. })));
}

#[test]
fn local_items_must_be_sorted_and_within_the_limit() {
    let (mut ours, _, _) = sets(7, 10, 0, 0, 5);
    ours.swap(3, 4);
    assert_eq!(Initiator::new(&ours, Salt([0; 16])).err(), Some(ReconcileError::LocalUnsorted { index: 4 }));
    ours.sort_unstable();
    let duplicate = [ours[0], ours[0]];
    assert_eq!(Responder::new(&duplicate).err(), Some(ReconcileError::LocalUnsorted { index: 1 }));

    let mut stream = Stream(8);
    let mut many: Vec<Item> = (0..MAX_RECONCILE_ITEMS as u64)
        .map(|n| Item { time: n, id: RecordId([(stream.next() & 0xff) as u8; 32]) })
        .collect();
    assert!(Initiator::new(&many, Salt([0; 16])).is_ok());
    many.push(Item { time: u64::MAX, id: RecordId([0; 32]) });
    assert_eq!(
        Initiator::new(&many, Salt([0; 16])).err(),
        Some(ReconcileError::TooMany {
            what: "local items",
            count: MAX_RECONCILE_ITEMS as u64 + 1,
            limit: MAX_RECONCILE_ITEMS as u64
        })
    );
}

#[test]
fn a_peer_may_claim_at_most_the_item_limit() {
    let estimator = vec![0; 2 * ESTIMATOR_COUNTERS];
    // At the limit the responder answers (with lists: it holds nothing).
    let mut responder = Responder::new(&[]).unwrap();
    assert!(matches!(
        responder.receive(&hello_with(MAX_RECONCILE_ITEMS as u64, estimator.clone())),
        Ok(Step::Send(_))
    ));
    assert_eq!(
        responder_error(&[], &[hello_with(MAX_RECONCILE_ITEMS as u64 + 1, vec![0; 2 * ESTIMATOR_COUNTERS])]),
        ReconcileError::TooMany {
            what: "peer's items",
            count: MAX_RECONCILE_ITEMS as u64 + 1,
            limit: MAX_RECONCILE_ITEMS as u64
        }
    );
    // Counters that no set of that many items has: odd for an even count, or too large.
    assert!(matches!(
        responder_error(&[], &[hello_with(4, [0, 1].repeat(ESTIMATOR_COUNTERS))]),
        ReconcileError::WrongCount { .. }
    ));
    assert!(matches!(
        responder_error(&[], &[hello_with(4, [0, 6].repeat(ESTIMATOR_COUNTERS))]),
        ReconcileError::WrongCount { .. }
    ));
}

#[test]
fn endless_requests_for_symbols_end_at_the_session_limit() {
    let (ours, theirs, _) = sets(9, 50, 3, 3, 100);
    let (_, mut responder, answer) = opening(&ours, &theirs);
    let Message::Symbols { symbols, .. } = answer else { panic!("{answer:?}") };
    let mut sent = symbols.len() / SYMBOL_BYTES;
    // More than a frame's worth in one request is malformed at decoding.
    let too_many = Message::More { symbols: MAX_SYMBOLS_PER_FRAME as u64 + 1 };
    assert!(matches!(too_many.encode(), Err(ReconcileError::TooMany { .. })));
    while sent < MAX_RECONCILE_SYMBOLS {
        let asked = (MAX_RECONCILE_SYMBOLS - sent).min(MAX_SYMBOLS_PER_FRAME);
        let Step::Send(frame) = responder.receive(&encode(&Message::More { symbols: asked as u64 })).unwrap()
        else {
            panic!("finished")
        };
        assert!(frame.len() <= MAX_RECONCILE_FRAME_BYTES);
        let Message::Symbols { start, symbols, .. } = Message::decode(&frame).unwrap() else { panic!() };
        assert_eq!((start as usize, symbols.len()), (sent, asked * SYMBOL_BYTES));
        sent += asked;
    }
    assert_eq!(
        responder.receive(&encode(&Message::More { symbols: 1 })),
        Err(ReconcileError::TooMany {
            what: "symbols in the session",
            count: MAX_RECONCILE_SYMBOLS as u64 + 1,
            limit: MAX_RECONCILE_SYMBOLS as u64
        })
    );
}

#[test]
fn the_initiator_falls_back_to_lists_when_symbols_run_out() {
    // A responder whose symbols never decode (junk): after MAX_RECONCILE_SYMBOLS the
    // initiator switches to lists, and the lists give the exact outcome.
    let (ours, theirs, expected) = sets(10, 30, 4, 6, 100);
    let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
    initiator.start().unwrap();
    let mut stream = Stream(11);
    let junk = |count: usize, stream: &mut Stream| -> Vec<u8> {
        let bytes = count * SYMBOL_BYTES;
        (0..bytes.div_ceil(8)).flat_map(|_| stream.next().to_le_bytes()).take(bytes).collect()
    };
    let mut frame = encode(&Message::Symbols {
        count: Some(theirs.len() as u64),
        fingerprint: Some(kvitt_protocol::reconcile::Fingerprint([3; 16])),
        start: 0,
        symbols: junk(1000, &mut stream),
    });
    let mut sent = 1000;
    let fallback = loop {
        let Step::Send(answer) = initiator.receive(&frame).unwrap() else { panic!("finished") };
        match Message::decode(&answer).unwrap() {
            Message::More { symbols } => {
                frame = encode(&Message::Symbols {
                    count: None,
                    fingerprint: None,
                    start: sent as u64,
                    symbols: junk(symbols as usize, &mut stream),
                });
                sent += symbols as usize;
            }
            list @ Message::List { .. } => break list,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(sent, MAX_RECONCILE_SYMBOLS);
    let Message::List { items, done: true, .. } = fallback else { panic!("{fallback:?}") };
    assert_eq!(items.len(), ours.len() * ITEM_BYTES);
    // The responder's list (as an honest responder would now send it) ends the session.
    match initiator.receive(&list(&theirs, true)).unwrap() {
        Step::Done { last: None, outcome } => assert_eq!(outcome, expected),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_responder_follows_an_initiator_into_lists() {
    let (ours, theirs, expected) = sets(12, 40, 5, 7, 100);
    let (_, mut responder, _) = opening(&ours, &theirs);
    assert!(matches!(responder.receive(&encode(&Message::More { symbols: 10 })), Ok(Step::Send(_))));
    match responder.receive(&list(&ours, true)).unwrap() {
        Step::Done { last: Some(frame), outcome } => {
            assert_eq!(Some(outcome.have.as_slice()), expected.need.ids());
            assert_eq!(outcome.need, Need::Ids(expected.have));
            let Message::List { items, done: true, .. } = Message::decode(&frame).unwrap() else { panic!() };
            assert_eq!(items.len(), theirs.len() * ITEM_BYTES);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn symbols_that_cannot_come_from_a_set_are_refused() {
    // The initiator holds nothing, so the difference is exactly the responder's symbols:
    // symbol 0 empty and symbol 1 not is impossible.
    let mut initiator = Initiator::new(&[], Salt([1; 16])).unwrap();
    initiator.start().unwrap();
    let mut symbols = vec![0u8; SYMBOL_BYTES];
    symbols.extend([7u8; SYMBOL_BYTES]);
    let frame = encode(&Message::Symbols {
        count: Some(1),
        fingerprint: Some(kvitt_protocol::reconcile::Fingerprint([0; 16])),
        start: 0,
        symbols,
    });
    assert!(matches!(initiator.receive(&frame), Err(ReconcileError::InconsistentSymbols { .. })));
    // A batch that starts elsewhere than where the last ended.
    let mut initiator = Initiator::new(&[], Salt([1; 16])).unwrap();
    initiator.start().unwrap();
    let frame = encode(&Message::Symbols {
        count: Some(1),
        fingerprint: Some(kvitt_protocol::reconcile::Fingerprint([0; 16])),
        start: 5,
        symbols: vec![1; SYMBOL_BYTES],
    });
    assert!(matches!(initiator.receive(&frame), Err(ReconcileError::Malformed { .. })));
}

#[test]
fn a_batch_of_another_size_than_asked_is_a_wrong_count() {
    let (ours, theirs, _) = sets(13, 300, 40, 40, 100);
    let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
    let hello = initiator.start().unwrap();
    let mut responder = Responder::new(&theirs).unwrap();
    let Step::Send(first) = responder.receive(&hello).unwrap() else { panic!() };
    // Cut the first batch so that it cannot decode and the initiator asks for more.
    let Message::Symbols { count, fingerprint, symbols, .. } = Message::decode(&first).unwrap() else {
        panic!()
    };
    let cut = encode(&Message::Symbols {
        count,
        fingerprint,
        start: 0,
        symbols: symbols[..4 * SYMBOL_BYTES].to_vec(),
    });
    let Step::Send(more) = initiator.receive(&cut).unwrap() else { panic!() };
    let Message::More { symbols: asked } = Message::decode(&more).unwrap() else { panic!() };
    let wrong = encode(&Message::Symbols {
        count: None,
        fingerprint: None,
        start: 4,
        symbols: vec![0; (asked as usize + 1) * SYMBOL_BYTES],
    });
    assert!(matches!(initiator.receive(&wrong), Err(ReconcileError::WrongCount { what: "symbols", .. })));
}

/// Runs an honest session up to the initiator's first `decoded`.
fn up_to_decoded(seed: u64, only_ours: usize, only_theirs: usize) -> (Vec<Item>, Vec<Item>, Message) {
    let (ours, theirs, _) = sets(seed, 200, only_ours, only_theirs, 100);
    let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
    let mut responder = Responder::new(&theirs).unwrap();
    let mut frame = initiator.start().unwrap();
    loop {
        let Step::Send(answer) = responder.receive(&frame).unwrap() else { panic!() };
        let Step::Send(next) = initiator.receive(&answer).unwrap() else { panic!() };
        if let message @ Message::Decoded { .. } = Message::decode(&next).unwrap() {
            return (ours, theirs, message);
        }
        frame = next;
    }
}

/// A responder that has sent symbols for `theirs` to a real initiator of `ours`.
fn coding_responder(ours: &[Item], theirs: &[Item]) -> Responder<'static> {
    let (_, responder, answer) = opening(ours, theirs);
    assert!(matches!(answer, Message::Symbols { .. }));
    responder
}

#[test]
fn a_decoded_exchange_that_lies_is_refused() {
    let (ours, theirs, decoded) = up_to_decoded(14, 3, 3);
    let Message::Decoded { count: Some(count), fingerprint: Some(fingerprint), tags, done: true } = decoded
    else {
        panic!("{decoded:?}")
    };
    assert_eq!((count, tags.len() / TAG_BYTES), (3, 3));
    let decoded = |count: Option<u64>, fingerprint: Option<Fingerprint>, tags: &[u8], done: bool| {
        encode(&Message::Decoded { count, fingerprint, tags: tags.to_vec(), done })
    };
    let first = |count: u64, fingerprint: Fingerprint, tags: &[u8]| {
        decoded(Some(count), Some(fingerprint), tags, true)
    };

    // A tag none of our items has.
    let mut responder = coding_responder(&ours, &theirs);
    assert_eq!(
        responder.receive(&first(count, fingerprint, &[0xee; TAG_BYTES])),
        Err(ReconcileError::UnknownTag)
    );
    // Tags out of order.
    let mut responder = coding_responder(&ours, &theirs);
    let descending: Vec<u8> = tags.chunks(TAG_BYTES).rev().flatten().copied().collect();
    assert_eq!(
        responder.receive(&first(count, fingerprint, &descending)),
        Err(ReconcileError::PeerUnsorted { what: "decoded tags" })
    );
    // Counts that do not add up: one item fewer, or one more, than the difference.
    for wrong in [count - 1, count + 1] {
        let mut responder = coding_responder(&ours, &theirs);
        assert!(matches!(
            responder.receive(&first(wrong, fingerprint, &tags)),
            Err(ReconcileError::WrongCount { what: "items", .. })
        ));
    }
    // The right count but another digest sum: the fingerprints do not reconcile.
    let mut responder = coding_responder(&ours, &theirs);
    let mut other = fingerprint;
    other.0[15] ^= 1;
    assert_eq!(responder.receive(&first(count, other, &tags)), Err(ReconcileError::Verification));
    // More items decoded than symbols were sent, however the count is made up.
    for many in [u64::from(u32::MAX), u64::MAX] {
        let mut responder = coding_responder(&ours, &theirs);
        assert!(matches!(
            responder.receive(&first(many, fingerprint, &tags)),
            Err(ReconcileError::TooMany { what: "decoded items", .. })
        ));
    }
    // The first `decoded` must say what we lack; a later one must not say it again.
    let mut responder = coding_responder(&ours, &theirs);
    assert!(matches!(
        responder.receive(&decoded(None, None, &tags, true)),
        Err(ReconcileError::Unexpected { kind: "decoded", .. })
    ));
    let mut responder = coding_responder(&ours, &theirs);
    assert!(matches!(
        responder.receive(&decoded(Some(count), Some(fingerprint), &tags[..TAG_BYTES], false)),
        Ok(Step::Send(_))
    ));
    assert!(matches!(
        responder.receive(&decoded(Some(count), Some(fingerprint), &tags[TAG_BYTES..], true)),
        Err(ReconcileError::Unexpected { kind: "decoded", .. })
    ));
    // The honest one works, in one frame or in two, and the responder learns how many it
    // lacks.
    let mut responder = coding_responder(&ours, &theirs);
    match responder.receive(&first(count, fingerprint, &tags)) {
        Ok(Step::Done { last: Some(_), outcome }) => assert_eq!(outcome.need, Need::Count(3)),
        other => panic!("{other:?}"),
    }
    let mut responder = coding_responder(&ours, &theirs);
    assert!(matches!(
        responder.receive(&decoded(Some(count), Some(fingerprint), &tags[..TAG_BYTES], false)),
        Ok(Step::Send(_))
    ));
    match responder.receive(&decoded(None, None, &tags[TAG_BYTES..], true)) {
        Ok(Step::Done { last: Some(_), outcome }) => assert_eq!(outcome.need, Need::Count(3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_resolved_answer_that_lies_is_refused() {
    let (ours, theirs, _) = sets(15, 200, 2, 4, 100);
    let lie = |answer: &dyn Fn(usize) -> Vec<u8>| {
        let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
        let mut responder = Responder::new(&theirs).unwrap();
        let mut frame = initiator.start().unwrap();
        loop {
            let Step::Send(reply) = responder.receive(&frame).unwrap() else { panic!() };
            let Step::Send(next) = initiator.receive(&reply).unwrap() else { panic!() };
            if let Message::Decoded { tags, .. } = Message::decode(&next).unwrap() {
                let frame = encode(&Message::Resolved { ids: answer(tags.len() / TAG_BYTES) });
                return initiator.receive(&frame);
            }
            frame = next;
        }
    };
    assert_eq!(lie(&|tags| vec![0x77; tags * ID_BYTES]), Err(ReconcileError::WrongTag));
    assert!(matches!(
        lie(&|tags| vec![0x77; (tags - 1) * ID_BYTES]),
        Err(ReconcileError::WrongCount { what: "resolved ids", .. })
    ));
}

#[test]
fn lists_that_lie_are_refused() {
    let (theirs, _, _) = sets(16, 10, 0, 0, 100);
    let estimator = vec![0; 2 * ESTIMATOR_COUNTERS];
    // The responder holds nothing, so it answers the hello with its (empty) list.
    let hello = hello_with(4, estimator.clone());
    let mut descending = theirs[..2].to_vec();
    descending.reverse();
    assert_eq!(
        responder_error(&[], &[hello.clone(), list(&descending, false)]),
        ReconcileError::PeerUnsorted { what: "listed items" }
    );
    assert!(matches!(
        responder_error(&[], &[hello.clone(), list(&theirs[..6], false)]),
        ReconcileError::WrongCount { what: "items", announced: 4, implied: 5 }
    ));
    assert!(matches!(
        responder_error(&[], &[hello.clone(), list(&theirs[..3], true)]),
        ReconcileError::WrongCount { what: "items", announced: 4, implied: 3 }
    ));
    let first = encode(&Message::List { count: Some(1), items: theirs[0].to_bytes().to_vec(), done: true });
    assert!(matches!(responder_error(&[], &[hello, first]), ReconcileError::Unexpected { kind: "list", .. }));
}

#[test]
fn per_frame_limits_hold_at_their_edges() {
    let item = Item { time: 1, id: RecordId([1; 32]) };
    let items = |count: usize| -> Vec<u8> { (0..count).flat_map(|_| item.to_bytes()).collect() };
    let at = Message::List { count: None, items: items(MAX_ITEMS_PER_FRAME), done: false };
    assert_eq!(Message::decode(&encode(&at)).unwrap(), at);
    let over = Message::List { count: None, items: items(MAX_ITEMS_PER_FRAME + 1), done: false };
    assert!(matches!(over.encode(), Err(ReconcileError::TooMany { .. })));

    let symbols = |count: usize| vec![3u8; count * SYMBOL_BYTES];
    let at = Message::Symbols {
        count: None,
        fingerprint: None,
        start: 0,
        symbols: symbols(MAX_SYMBOLS_PER_FRAME),
    };
    assert_eq!(Message::decode(&encode(&at)).unwrap(), at);
    let over = Message::Symbols {
        count: None,
        fingerprint: None,
        start: 0,
        symbols: symbols(MAX_SYMBOLS_PER_FRAME + 1),
    };
    assert!(matches!(over.encode(), Err(ReconcileError::TooMany { .. })));
    let at = Message::More { symbols: MAX_SYMBOLS_PER_FRAME as u64 };
    assert_eq!(Message::decode(&encode(&at)).unwrap(), at);

    let ids = |count: usize| vec![4u8; count * ID_BYTES];
    let tags = |count: usize| vec![5u8; count * TAG_BYTES];
    let at = Message::Resolved { ids: ids(MAX_IDS_PER_FRAME) };
    assert_eq!(Message::decode(&encode(&at)).unwrap(), at);
    assert!(matches!(
        Message::Resolved { ids: ids(MAX_IDS_PER_FRAME + 1) }.encode(),
        Err(ReconcileError::TooMany { .. })
    ));
    let decoded = |tags| Message::Decoded {
        count: Some(u64::MAX),
        fingerprint: Some(Fingerprint([0xff; 16])),
        tags,
        done: true,
    };
    let at = decoded(tags(MAX_IDS_PER_FRAME));
    assert_eq!(Message::decode(&encode(&at)).unwrap(), at);
    assert!(encode(&at).len() <= MAX_RECONCILE_FRAME_BYTES);
    assert!(matches!(decoded(tags(MAX_IDS_PER_FRAME + 1)).encode(), Err(ReconcileError::TooMany { .. })));
    // Every frame at its limit fits the frame limit.
    assert!(encode(&Message::Resolved { ids: ids(MAX_IDS_PER_FRAME) }).len() <= MAX_RECONCILE_FRAME_BYTES);
}

#[test]
fn sessions_end_at_the_round_limit() {
    // A responder that holds nothing answers with lists; the initiator then drips its
    // items one per frame. The hello is frame 1, so MAX_RECONCILE_ROUNDS - 1 items fit.
    let mut stream = Stream(17);
    let mut items = stream.items(MAX_RECONCILE_ROUNDS + 1, 1_000_000);
    items.sort_unstable();
    let drip = |count: usize| -> Result<Step, ReconcileError> {
        let mut responder = Responder::new(&[]).unwrap();
        let estimator = [0u8, (count % 2) as u8].repeat(ESTIMATOR_COUNTERS);
        responder.receive(&hello_with(count as u64, estimator))?;
        let mut last = None;
        for (at, item) in items[..count].iter().enumerate() {
            last = Some(responder.receive(&list(std::slice::from_ref(item), at + 1 == count))?);
        }
        Ok(last.unwrap())
    };
    match drip(MAX_RECONCILE_ROUNDS - 1).unwrap() {
        Step::Done { last: None, outcome } => {
            assert_eq!(outcome.need.count(), MAX_RECONCILE_ROUNDS as u64 - 1)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        drip(MAX_RECONCILE_ROUNDS).err(),
        Some(ReconcileError::TooManyRounds { limit: MAX_RECONCILE_ROUNDS })
    );
}

#[test]
fn finished_sessions_take_no_more_frames() {
    let (ours, theirs, expected) = sets(18, 100, 0, 0, 100);
    let mut initiator = Initiator::new(&ours, Salt([1; 16])).unwrap();
    let mut responder = Responder::new(&theirs).unwrap();
    let hello = initiator.start().unwrap();
    let Step::Done { last: Some(same), outcome } = responder.receive(&hello).unwrap() else { panic!() };
    assert_eq!(outcome, expected);
    assert!(matches!(initiator.receive(&same), Ok(Step::Done { last: None, .. })));
    assert_eq!(initiator.receive(&same), Err(ReconcileError::Finished));
    assert_eq!(responder.receive(&hello), Err(ReconcileError::Finished));
}

#[test]
fn any_bytes_give_an_error_or_a_step_never_a_panic() {
    let (ours, theirs, _) = sets(19, 50, 2, 2, 100);
    let mut stream = Stream(20);
    for length in [0usize, 1, 2, 17, 100, 600] {
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..length).map(|_| stream.next() as u8).collect();
            let _ = Responder::new(&theirs).unwrap().receive(&bytes);
            let mut initiator = Initiator::new(&ours, Salt([0; 16])).unwrap();
            initiator.start().unwrap();
            let _ = initiator.receive(&bytes);
        }
    }
    let _ = BTreeSet::<u8>::new();
}
