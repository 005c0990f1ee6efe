//! The SSC's SIE export: booked claims as vouchers numbered as their `booked` events say,
//! each claim once unless asked again, nothing noted when a claim cannot be booked.

use kvitt_protocol::event::Action;
use time::macros::date;

use super::claims::{approver, ssc_staff};
use super::*;
use crate::ledger::VoucherOf::Booking;

/// Pushes a receipt, claims it (booked to `account`), approves and books the claim.
pub(super) fn booked_claim(net: &mut Net, receipt: Receipt, account: u16) -> (RecordId, RecordId) {
    let receipt = net.push(receipt);
    let claim = net.claim_to("emp-1", &[receipt], account);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }).unwrap();
    (claim, receipt)
}

pub(super) fn export(agency: &str, again: bool) -> ClientRequest {
    ClientRequest::ExportSie(SieExport {
        agency: agency.into(),
        from: date!(2026 - 05 - 01),
        to: date!(2026 - 05 - 31),
        again,
    })
}

pub(super) fn sie(net: &mut Net, again: bool) -> SieFile {
    match net.ask("ssc", ssc_staff(), export(AGENCY, again)) {
        Ok(ClientResponse::Sie(file)) => *file,
        other => panic!("export: {other:?}"),
    }
}

/// The file's lines, decoded from PC8 only as far as ASCII goes (other bytes as `?`).
pub(super) fn lines(bytes: &[u8]) -> Vec<String> {
    let text: String = bytes.iter().map(|&byte| if byte.is_ascii() { byte as char } else { '?' }).collect();
    text.split("\r\n").map(str::to_owned).collect()
}

/// The öre of a `#TRANS` line's amount (`-123.45`).
pub(super) fn amount(line: &str) -> i64 {
    let amount = line.split(' ').filter(|field| !field.is_empty()).nth(3).unwrap();
    let (sek, ore) = amount.split_once('.').unwrap();
    let sign = if sek.starts_with('-') { -1 } else { 1 };
    sign * (sek.trim_start_matches('-').parse::<i64>().unwrap() * 100 + ore.parse::<i64>().unwrap())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn booked_claims_are_exported_once_with_their_voucher_numbers_and_again_when_asked() {
    let mut net = Net::new();
    let taxi = receipt(1);
    let gota = Receipt {
        merchant: kvitt_protocol::receipt::Merchant { name: "Göta Taxi AB".into(), ..taxi.merchant.clone() },
        ..receipt(2)
    };
    let (first, first_receipt) = booked_claim(&mut net, taxi, 5800);
    let (second, second_receipt) = booked_claim(&mut net, gota, 5800);
    net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim: first }).unwrap();

    let file = sie(&mut net, false);
    assert_eq!(file.vouchers, vec![(first, Booking), (second, Booking)], "in voucher order");
    let text = lines(&file.bytes);
    let vers: Vec<&String> = text.iter().filter(|line| line.starts_with("#VER")).collect();
    assert_eq!(vers.len(), 2, "{text:#?}");
    assert!(vers[0].starts_with("#VER K 1 20260504 \"R?kning "), "{}", vers[0]);
    assert!(vers[0].ends_with(&format!("{first}\"")), "{}", vers[0]);
    assert!(vers[1].starts_with("#VER K 2 20260504 "), "{}", vers[1]);
    assert!(vers[1].ends_with(&format!("{second}\"")), "{}", vers[1]);
    assert!(text.contains(&"#ORGNR 202100-5489".to_owned()));
    assert!(text.contains(&"#RAR 0 20260101 20261231".to_owned()));
    assert!(text.contains(&"#GEN 20260504".to_owned()));

    // Each voucher's #TRANS rows add up to zero, and there are some.
    let mut sums = Vec::new();
    let mut rows = 0;
    for line in &text {
        match line.as_str() {
            "{" => sums.push(0),
            _ if line.trim_start().starts_with("#TRANS") => {
                *sums.last_mut().unwrap() += amount(line);
                rows += 1;
            }
            _ => {}
        }
    }
    assert_eq!(sums, vec![0, 0]);
    assert!(rows >= 4, "expense, VAT and payable rows: {rows}");

    for receipt in [first_receipt, second_receipt] {
        assert!(
            contains(&file.bytes, format!("kvitto {receipt}").as_bytes()),
            "receipt {receipt} in the texts"
        );
    }
    // å, ä and ö in PC8, and no UTF-8 anywhere.
    assert!(contains(&file.bytes, b"\"R\x84kning "), "ä of Räkning");
    assert!(contains(&file.bytes, b"\"Ing\x86ende moms\""), "å of Ingående");
    assert!(contains(&file.bytes, b"\"G\x94ta Taxi AB kvitto "), "ö of Göta");
    assert!(!file.bytes.contains(&0xC3), "no UTF-8 lead bytes");

    let later = sie(&mut net, false);
    assert!(later.vouchers.is_empty());
    assert!(!lines(&later.bytes).iter().any(|line| line.starts_with("#VER")), "exported once");

    let again = sie(&mut net, true);
    assert_eq!(again, file, "asked again, the same bytes");
}

/// Pushes a receipt and claims it (booked to `account`), approved and at the SSC.
fn approved_claim(net: &mut Net, receipt: Receipt, account: u16) -> RecordId {
    let receipt = net.push(receipt);
    let claim = net.claim_to("emp-1", &[receipt], account);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    claim
}

#[test]
fn a_claim_that_cannot_be_booked_is_refused_at_booking_and_takes_no_voucher_number() {
    let mut net = Net::new();
    // 4010 is a BAS account the claim's own rules take, but no category of the table.
    let bad = approved_claim(&mut net, receipt(1), 4010);
    let Err(refusal) = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim: bad }) else {
        panic!("an unbookable claim must be refused when booked");
    };
    assert_eq!(refusal.code, RefusalCode::Booking);
    assert!(refusal.message.contains("items[0].booking.account: 4010"), "{}", refusal.message);
    assert_eq!(net.status_at("ssc", bad), kvitt_protocol::event::Status::Approved, "nothing signed");
    let (good, _) = booked_claim(&mut net, receipt(2), 5800);
    let file = sie(&mut net, false);
    assert_eq!(file.vouchers, vec![(good, Booking)]);
    let text = lines(&file.bytes);
    assert!(text.iter().any(|line| line.starts_with("#VER K 1 ")), "the refusal took no number: {text:#?}");
}

#[test]
fn the_export_writes_the_voucher_kept_at_booking_even_if_a_record_is_gone_since() {
    let mut net = Net::new();
    let (claim, receipt_id) = booked_claim(&mut net, receipt(1), 5800);
    let before = sie(&mut net, true);
    // The receipt's bytes are lost from the SSC's ledger: booking it again would fail.
    let mut damage = Batch::new();
    damage.remove(crate::ledger::keys::record(&receipt_id));
    net.nodes[&Net::key_of("ssc")].store.apply(&damage).unwrap();
    let after = sie(&mut net, true);
    assert_eq!(after.vouchers, vec![(claim, Booking)]);
    assert_eq!(after.bytes, before.bytes, "the kept voucher, not a new booking");
}

/// Receipt 1, its merchant named `name`.
fn sold_by(name: &str) -> Receipt {
    let taxi = receipt(1);
    Receipt {
        merchant: kvitt_protocol::receipt::Merchant { name: name.into(), ..taxi.merchant.clone() },
        ..taxi
    }
}

#[test]
fn text_outside_code_page_437_is_transliterated_and_never_fails_the_export() {
    let mut net = Net::new();
    let (claim, _) = booked_claim(&mut net, sold_by("McDonald’s ☕ “Kaffe” – 5 €"), 5800);
    let file = sie(&mut net, false);
    assert_eq!(file.vouchers, vec![(claim, Booking)]);
    assert!(
        contains(&file.bytes, b"\"McDonald's ? \\\"Kaffe\\\" - 5 EUR kvitto "),
        "{:?}",
        lines(&file.bytes)
    );
}

#[test]
fn a_bidi_control_in_a_merchant_name_is_refused_at_the_till() {
    let mut net = Net::new();
    let disguised = sold_by("Taxi \u{202E}BA ttivK");
    let Err(refusal) = net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(disguised))) else {
        panic!("a bidi override must be refused");
    };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("text.bidi", "body.merchant.name"));
    assert_eq!(net.receipts_at_agency(), 0);
}

#[test]
fn only_ssc_staff_export_and_only_for_an_agency_the_ssc_serves_in_one_fiscal_year() {
    let mut net = Net::new();
    let refused = net.ask("ssc", approver("boss"), export(AGENCY, false));
    assert_eq!(refused.unwrap_err().code.as_str(), "auth.forbidden");
    let refused = net.ask("agency", ssc_staff(), export(AGENCY, false));
    assert_eq!(refused.unwrap_err().code.as_str(), "auth.forbidden", "only at an SSC node");
    let refused = net.ask("ssc", ssc_staff(), export(MERCHANT, false)).unwrap_err();
    assert_eq!((refused.code.as_str(), refused.path.as_str()), ("request.not_found", "agency"));
    let span = ClientRequest::ExportSie(SieExport {
        agency: AGENCY.into(),
        from: date!(2026 - 12 - 01),
        to: date!(2027 - 01 - 31),
        again: false,
    });
    let refused = net.ask("ssc", ssc_staff(), span).unwrap_err();
    assert_eq!((refused.code.as_str(), refused.path.as_str()), ("request.invalid", "to"));
    assert!(refused.message.contains("two fiscal years"), "{}", refused.message);
}

impl Net {
    /// The node `name` loses its ledger (a new, empty store) and restarts.
    pub(super) fn lose_ledger(&mut self, name: &str) {
        let old = self.nodes.remove(&Net::key_of(name)).unwrap();
        let store = Arc::new(crate::store::MemoryStore::new());
        let identity = old.core.identity().clone();
        let core = NodeCore::start(identity, old.core.config.clone(), directory(1), store.clone()).unwrap();
        self.nodes.insert(Net::key_of(name), Node { core, store, up: true });
    }
}

#[test]
fn an_ssc_that_got_its_booked_claims_back_by_reconciliation_computes_and_keeps_their_vouchers() {
    let mut net = Net::new();
    let (first, _) = booked_claim(&mut net, receipt(1), 5800);
    let (second, _) = booked_claim(&mut net, receipt(2), 5800);
    let before = sie(&mut net, false);
    net.lose_ledger("ssc");
    net.reconcile("agency", "ssc");
    assert_eq!(net.status_at("ssc", second), kvitt_protocol::event::Status::Booked, "the events came back");
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert_eq!(ssc.voucher(&first, Booking).unwrap(), None, "no voucher came with them");
    assert_eq!(ssc.counter(&format!("voucher/{AGENCY}")).unwrap(), 2, "the series goes on after K 2");

    let after = sie(&mut net, false);
    assert_eq!(after.vouchers, before.vouchers);
    assert_eq!(after.bytes, before.bytes, "computed from the signed records as their events numbered them");
    assert!(after.left_out.is_empty());
    assert!(ssc.voucher(&first, Booking).unwrap().is_some(), "and kept");
    let (third, _) = booked_claim(&mut net, receipt(3), 5800);
    let text = lines(&sie(&mut net, false).bytes);
    assert!(text.iter().any(|line| line.starts_with("#VER K 3 ")), "{text:#?}");
    assert_eq!(sie(&mut net, true).vouchers, vec![(first, Booking), (second, Booking), (third, Booking)]);
}

#[test]
fn a_voucher_that_cannot_be_computed_after_a_restore_is_left_out_as_an_exception_never_failing_the_export() {
    let mut net = Net::new();
    let (good, _) = booked_claim(&mut net, receipt(1), 5800);
    let (lost, lost_receipt) = booked_claim(&mut net, receipt(2), 5800);
    net.lose_ledger("ssc");
    net.reconcile("agency", "ssc");
    // The restored ledger lacks the receipt: the voucher cannot be booked from the records.
    let mut damage = Batch::new();
    damage.remove(crate::ledger::keys::record(&lost_receipt));
    net.nodes[&Net::key_of("ssc")].store.apply(&damage).unwrap();

    let file = sie(&mut net, false);
    assert_eq!(file.vouchers, vec![(good, Booking)]);
    assert_eq!(file.left_out.len(), 1, "{:?}", file.left_out);
    let left = &file.left_out[0];
    assert_eq!((left.claim, left.of), (lost, Booking));
    assert!(left.why.contains(&format!("receipt {lost_receipt} was not given")), "{}", left.why);
    let text = lines(&file.bytes);
    assert!(text.iter().any(|line| line.starts_with("#VER K 1 ")), "{text:#?}");
    assert!(!text.iter().any(|line| line.starts_with("#VER K 2 ")), "{text:#?}");

    let Ok(ClientResponse::Exceptions(open)) =
        net.ask("ssc", ssc_staff(), ClientRequest::Exceptions { limit: 10, all: false, after: None })
    else {
        panic!("exceptions");
    };
    let open = open.items;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!((open[0].id, open[0].kind, open[0].open), (lost, ExceptionKind::Booking, true));
    assert!(open[0].why.starts_with("booking: the booking voucher of claim 2026-000002"), "{}", open[0].why);
    // Left out again (not noted as exported), and the exception noted once.
    let again = sie(&mut net, false);
    assert_eq!((again.vouchers.len(), again.left_out.len()), (0, 1));
}

#[test]
fn resolving_an_exception_by_booking_a_claim_that_cannot_be_booked_signs_nothing() {
    let mut net = Net::new();
    let original = net.push(super::claims::card_receipt(1));
    let reissue = net.push(super::claims::card_receipt(2));
    let first = net.claim("emp-1", &[original]);
    let second = net.claim_to("emp-1", &[reissue], 4010);
    for claim in [first, second] {
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved })
            .unwrap();
    }
    let events = |net: &mut Net| match net.ask("ssc", ssc_staff(), ClientRequest::ShowClaim { claim: second })
    {
        Ok(ClientResponse::Claim(view)) => view.events.len(),
        other => panic!("{other:?}"),
    };
    let before = events(&mut net);
    let note = "Den första räkningen är fel".to_owned();
    let resolved = net.ask(
        "ssc",
        ssc_staff(),
        ClientRequest::Resolve { claim: second, resolution: Resolution::Book, note },
    );
    let Err(refusal) = resolved else { panic!("{resolved:?}") };
    assert_eq!(refusal.code, RefusalCode::Booking);
    assert!(refusal.message.contains("items[0].booking.account: 4010"), "{}", refusal.message);
    assert_eq!(events(&mut net), before, "no reviewed note without its booking");
    assert_eq!(net.status_at("ssc", second), kvitt_protocol::event::Status::Approved);
}
