//! A hostile or broken peer talking QUIC directly to a running agency: hand-made
//! `deliver` requests sent with the merchant's real node key (so the transport lets them
//! in) carry records that a well-behaved merchant would never send. Each gets the refusal
//! code of spec/node.md and leaves the agency's ledger as it was. A key outside the
//! directory does not get a connection at all.

mod support;

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;
use kvitt_node::transport::{
    FrameKind, PeerKeys, Transport, TransportConfig, TransportError, MAX_FRAME_BYTES,
};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{RecordBytes, Refusal, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{PublicKey, RecordId, Signed};
use serde_json::Value;
use support::{receipt, Network, AGENCY_ORG, PATIENCE, SSC_ORG};

/// A peer of the agency's: a QUIC transport of its own with `key`, dialling the agency.
struct Peer {
    // Dropped before the runtime its tasks run on.
    transport: Transport,
    runtime: tokio::runtime::Runtime,
    agency: PublicKey,
    address: SocketAddr,
    directory_version: u64,
}

impl Peer {
    fn new(network: &Network, key: SigningKey) -> Peer {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let agency = network.agency.public_key();
        let config = TransportConfig::new("127.0.0.1:0".parse().unwrap(), key, PeerKeys::new([agency]));
        let (transport, _incoming) = runtime.block_on(async { Transport::bind(config) }).unwrap();
        let directory = network.agency.expect(200, "GET", "/v1/directory", &network.agency.operator, None);
        let directory_version = directory["body"]["version"].as_u64().unwrap();
        Peer { transport, runtime, agency, address: network.agency.peer, directory_version }
    }

    /// Sends one request frame to `address` as the agency's key and returns the answer.
    fn send_to(&self, address: SocketAddr, frame: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.runtime.block_on(self.transport.request(self.agency, address, frame, PATIENCE))
    }

    /// A `deliver` request of `records`, encoded.
    fn deliver_frame(&self, records: Vec<Vec<u8>>) -> Vec<u8> {
        let records = records.into_iter().map(RecordBytes).collect();
        Request { directory_version: self.directory_version, body: RequestBody::Deliver { records } }
            .encode()
            .unwrap()
    }

    /// Delivers `records` to the agency and returns its response.
    fn deliver(&self, records: Vec<Vec<u8>>) -> Response {
        let answer = self.send_to(self.address, self.deliver_frame(records)).unwrap();
        Response::decode(&answer).unwrap()
    }

    /// Delivers one record and returns its verdict.
    fn verdict(&self, record: Vec<u8>) -> Verdict {
        match self.deliver(vec![record]).body {
            ResponseBody::Delivered { results } if results.len() == 1 => results.into_iter().next().unwrap(),
            other => panic!("expected one verdict, got {other:?}"),
        }
    }
}

/// The refusal in a verdict.
fn refusal(verdict: Verdict) -> Refusal {
    match verdict {
        Verdict::Refused { refusal } => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// What a ledger check sees of the agency: every receipt it lists and every exception.
fn agency_ledger(network: &Network) -> (Value, Value) {
    let operator = &network.agency.operator;
    (
        network.agency.expect(200, "GET", "/v1/receipts", operator, None),
        network.agency.expect(200, "GET", "/v1/exceptions", operator, None),
    )
}

/// `receipt` as sold by organisation `org` (with that organisation's VAT number).
fn sold_by(receipt: Receipt, org: &str) -> Receipt {
    let mut merchant = receipt.merchant.clone();
    merchant.org = org.into();
    merchant.vat_number = Some(format!("SE{}01", org.replace('-', "")));
    Receipt { merchant, ..receipt }
}

fn signed(receipt: Receipt, key: &SigningKey) -> Signed<Receipt> {
    Signed::sign(receipt, key).unwrap()
}

#[test]
fn records_a_hostile_merchant_sends_are_refused_with_their_codes_and_change_nothing() {
    let mut network = Network::set_up();
    network.agency.start();
    let merchant_key = network.merchant.signing_key();
    let peer = Peer::new(&network, merchant_key.clone());
    let before = agency_ledger(&network);
    assert_eq!(before, (Value::Array(vec![]), Value::Array(vec![])), "the agency starts empty");

    // (a) A receipt the merchant signed, with one bit of its body flipped afterwards
    // ("Frukost" becomes "Frukosu"): still canonical CBOR, but the signature fails.
    let valid = signed(receipt("KASSA-1", 1), &merchant_key);
    let mut tampered = valid.bytes().to_vec();
    let at = tampered.windows(7).position(|window| window == b"Frukost").unwrap() + 6;
    tampered[at] ^= 0x01;
    let tampered_id = RecordId::of(&tampered);
    let refused = refusal(peer.verdict(tampered));
    assert_eq!(
        (refused.code.as_str(), refused.path.as_str(), refused.retry),
        ("signature.invalid", "sig", false)
    );

    // (b) Signed by another key than the merchant's, though naming the merchant as seller:
    // the directory lists another key for the seller (node.md §Authorization).
    let stranger = SigningKey::from_bytes(&[0x5a; 32]);
    let forged = signed(receipt("KASSA-1", 1), &stranger);
    let refused = refusal(peer.verdict(forged.bytes().to_vec()));
    assert_eq!((refused.code.as_str(), refused.retry), ("auth.signer", false), "{refused}");

    // (c) Misrouted: bought by another organisation than this agency.
    let mut elsewhere = receipt("KASSA-1", 1);
    elsewhere.buyer.as_mut().unwrap().agency = SSC_ORG.into();
    let misrouted = signed(elsewhere, &merchant_key);
    let refused = refusal(peer.verdict(misrouted.bytes().to_vec()));
    assert_eq!((refused.code.as_str(), refused.retry), ("auth.misrouted", false), "{refused}");

    // (d) Sold by an organisation the directory does not list, or lists under another key
    // (the agency's own): the merchant's key may not speak for either.
    let unlisted = signed(sold_by(receipt("KASSA-1", 1), "556036-0793"), &merchant_key);
    let refused = refusal(peer.verdict(unlisted.bytes().to_vec()));
    assert_eq!((refused.code.as_str(), refused.retry), ("auth.not_member", true), "{refused}");
    let impersonated = signed(sold_by(receipt("KASSA-1", 1), AGENCY_ORG), &merchant_key);
    let refused = refusal(peer.verdict(impersonated.bytes().to_vec()));
    assert_eq!((refused.code.as_str(), refused.retry), ("auth.signer", false), "{refused}");

    assert_eq!(agency_ledger(&network), before, "no refusal changed the agency's ledger");
    for id in [tampered_id, forged.id(), misrouted.id(), unlisted.id(), impersonated.id()] {
        assert_eq!(network.agency.record_status(&id), 404, "record {id} was refused, not stored");
    }

    // (f) The same peer, the same way, with the merchant's genuine receipt: stored, then
    // acknowledged as a duplicate. So the refusals above were the records' doing.
    match peer.verdict(valid.bytes().to_vec()) {
        Verdict::Stored { id } => assert_eq!(id, valid.id()),
        other => panic!("a valid receipt was not stored: {other:?}\n{}", network.logs()),
    }
    assert_eq!(peer.verdict(valid.bytes().to_vec()), Verdict::Duplicate { id: valid.id() });
    assert_eq!(network.agency.record_status(&valid.id()), 200);
    let listed = network.agency.expect(200, "GET", "/v1/receipts", &network.agency.operator, None);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|view| view["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![valid.id().to_string()]);
}

#[test]
fn oversized_requests_are_refused_before_sending_or_as_a_whole() {
    let mut network = Network::set_up();
    network.agency.start();
    let merchant_key = network.merchant.signing_key();
    let peer = Peer::new(&network, merchant_key.clone());

    // A deliver request of more than 4 MiB never leaves: refused even towards an address
    // where nothing listens, so nothing was dialled.
    let huge = peer.deliver_frame(vec![vec![0xa5; MAX_FRAME_BYTES]]);
    assert!(huge.len() > MAX_FRAME_BYTES);
    let nobody = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for address in [peer.address, nobody] {
        match peer.send_to(address, huge.clone()) {
            Err(TransportError::FrameTooLarge { peer: to, kind: FrameKind::Request, bytes, limit }) => {
                assert_eq!((to, bytes, limit), (peer.agency, huge.len() as u64, MAX_FRAME_BYTES));
            }
            other => panic!("a {} byte frame to {address}: {other:?}", huge.len()),
        }
    }

    // 513 genuine receipts in one deliver request: refused whole, none stored.
    let receipts: Vec<Signed<Receipt>> =
        (1..=513).map(|serial| signed(receipt("KASSA-9", serial), &merchant_key)).collect();
    let bytes =
        |receipts: &[Signed<Receipt>]| receipts.iter().map(|receipt| receipt.bytes().to_vec()).collect();
    match peer.deliver(bytes(&receipts)).body {
        ResponseBody::Refused { refusal } => {
            assert_eq!(
                (refusal.code.as_str(), refusal.path.as_str()),
                ("limit.count", "body.records"),
                "{refusal}"
            )
        }
        other => panic!("513 records: {other:?}"),
    }
    let listed = network.agency.expect(200, "GET", "/v1/receipts", &network.agency.operator, None);
    assert_eq!(listed, Value::Array(vec![]), "nothing of a refused request is stored");
    for receipt in [&receipts[0], &receipts[512]] {
        assert_eq!(network.agency.record_status(&receipt.id()), 404);
    }

    // 512, the limit, go through: one verdict each, all stored.
    match peer.deliver(bytes(&receipts[..512])).body {
        ResponseBody::Delivered { results } => {
            assert_eq!(results.len(), 512);
            for (verdict, receipt) in results.iter().zip(&receipts) {
                assert_eq!(verdict, &Verdict::Stored { id: receipt.id() });
            }
        }
        other => panic!("512 records: {other:?}"),
    }
    assert_eq!(network.agency.record_status(&receipts[511].id()), 200);
    assert_eq!(network.agency.record_status(&receipts[512].id()), 404);
}

#[test]
fn a_node_key_outside_the_directory_cannot_connect() {
    let mut network = Network::set_up();
    network.agency.start();
    let unknown = SigningKey::generate(&mut rand_core::OsRng);
    let peer = Peer::new(&network, unknown.clone());
    let record = signed(receipt("KASSA-1", 1), &unknown);
    match peer.send_to(peer.address, peer.deliver_frame(vec![record.bytes().to_vec()])) {
        Err(TransportError::Refused { peer: refused_by, address, reason }) => {
            assert_eq!((refused_by, address), (peer.agency, peer.address), "{reason}");
        }
        other => panic!("an unknown key got {other:?}"),
    }
    assert_eq!(network.agency.record_status(&record.id()), 404);
    let (receipts, exceptions) = agency_ledger(&network);
    assert_eq!((receipts, exceptions), (Value::Array(vec![]), Value::Array(vec![])));
}

#[test]
fn a_second_receipt_for_a_used_serial_is_refused_as_equivocation_and_both_are_kept_as_evidence() {
    let mut network = Network::set_up();
    network.agency.start();
    let merchant_key = network.merchant.signing_key();
    let peer = Peer::new(&network, merchant_key.clone());

    let first = signed(receipt("KASSA-1", 7), &merchant_key);
    let mut other = receipt("KASSA-1", 7);
    other.issued_at = "2026-11-30T09:45:00+01:00".into();
    let second = signed(other, &merchant_key);
    assert_eq!(peer.verdict(first.bytes().to_vec()), Verdict::Stored { id: first.id() });
    let refused = refusal(peer.verdict(second.bytes().to_vec()));
    assert_eq!((refused.code.as_str(), refused.retry), ("ledger.equivocation", false), "{refused}");

    // The newcomer is not a receipt of the agency's; the evidence holds both, signed by
    // the agency, and is listed as an exception.
    assert_eq!(network.agency.record_status(&second.id()), 404);
    let listed = network.agency.expect(200, "GET", "/v1/receipts", &network.agency.operator, None);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let exceptions = network.agency.expect(200, "GET", "/v1/exceptions", &network.agency.operator, None);
    let [exception] = exceptions.as_array().unwrap().as_slice() else {
        panic!("one exception expected: {exceptions}");
    };
    assert_eq!(exception["why"], "equivocation", "{exception}");
    let evidence = network.agency.expect(
        200,
        "GET",
        &format!("/v1/records/{}", exception["id"].as_str().unwrap()),
        &network.agency.operator,
        None,
    );
    assert_eq!(
        (evidence["type"].as_str(), evidence["signer"].as_str()),
        (Some("evidence"), Some(network.agency.key.as_str()))
    );
    let mut held =
        [evidence["body"]["first"].as_str().unwrap(), evidence["body"]["second"].as_str().unwrap()];
    held.sort();
    let mut conflicting = [hex(first.bytes()), hex(second.bytes())];
    conflicting.sort();
    assert_eq!(held, [conflicting[0].as_str(), conflicting[1].as_str()], "the evidence holds both records");
    // The same conflicting receipt again is refused again, and still not stored. (Each
    // time it is judged the agency signs new evidence, stamped with the time it found the
    // conflict; how many exceptions that leaves depends on the clock, so it is not checked.)
    let refused = refusal(peer.verdict(second.bytes().to_vec()));
    assert_eq!(refused.code.as_str(), "ledger.equivocation");
    assert_eq!(network.agency.record_status(&second.id()), 404);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
