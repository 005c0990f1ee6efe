//! The SSC's SIE export: booked claims as vouchers numbered as their `booked` events say,
//! each claim once unless asked again, nothing noted when a claim cannot be booked.

use kvitt_protocol::event::Action;
use time::macros::date;

use super::claims::{approver, ssc_staff};
use super::*;

/// Pushes a receipt, claims it (booked to `account`), approves and books the claim.
fn booked_claim(net: &mut Net, receipt: Receipt, account: u16) -> (RecordId, RecordId) {
    let receipt = net.push(receipt);
    let claim = net.claim_to("emp-1", &[receipt], account);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }).unwrap();
    (claim, receipt)
}

fn export(agency: &str, again: bool) -> ClientRequest {
    ClientRequest::ExportSie(SieExport {
        agency: agency.into(),
        from: date!(2026 - 05 - 01),
        to: date!(2026 - 05 - 31),
        again,
    })
}

fn sie(net: &mut Net, again: bool) -> SieFile {
    match net.ask("ssc", ssc_staff(), export(AGENCY, again)) {
        Ok(ClientResponse::Sie(file)) => *file,
        other => panic!("export: {other:?}"),
    }
}

/// The file's lines, decoded from PC8 only as far as ASCII goes (other bytes as `?`).
fn lines(bytes: &[u8]) -> Vec<String> {
    let text: String = bytes.iter().map(|&byte| if byte.is_ascii() { byte as char } else { '?' }).collect();
    text.split("\r\n").map(str::to_owned).collect()
}

/// The öre of a `#TRANS` line's amount (`-123.45`).
fn amount(line: &str) -> i64 {
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
    assert_eq!(file.claims, vec![first, second], "in voucher order");
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
    assert!(later.claims.is_empty());
    assert!(!lines(&later.bytes).iter().any(|line| line.starts_with("#VER")), "exported once");

    let again = sie(&mut net, true);
    assert_eq!(again, file, "asked again, the same bytes");
}

#[test]
fn a_claim_that_cannot_be_booked_fails_the_export_and_nothing_is_noted() {
    let mut net = Net::new();
    let (good, _) = booked_claim(&mut net, receipt(1), 5800);
    // 4010 is a BAS account the claim's own rules take, but no category of the table.
    let (bad, _) = booked_claim(&mut net, receipt(2), 4010);

    let Err(refusal) = net.ask("ssc", ssc_staff(), export(AGENCY, false)) else {
        panic!("an unbookable claim must fail the export");
    };
    assert_eq!(refusal.code, BOOKING_REFUSED);
    assert!(refusal.message.contains(&bad.to_string()), "{}", refusal.message);
    assert!(refusal.message.contains("items[0].booking.account: 4010"), "{}", refusal.message);
    let ssc = &net.nodes[&Net::key_of("ssc")];
    let ledger = Ledger::new(ssc.store.clone());
    assert_eq!(ledger.exported(&good).unwrap(), None, "the bookable claim is not noted either");
}

#[test]
fn text_outside_code_page_437_is_transliterated_and_never_fails_the_export() {
    let mut net = Net::new();
    let taxi = receipt(1);
    let coffee = Receipt {
        merchant: kvitt_protocol::receipt::Merchant {
            name: "McDonald’s ☕ “Kaffe” – 5 €".into(),
            ..taxi.merchant.clone()
        },
        ..taxi
    };
    let (claim, _) = booked_claim(&mut net, coffee, 5800);
    let file = sie(&mut net, false);
    assert_eq!(file.claims, vec![claim]);
    assert!(
        contains(&file.bytes, b"\"McDonald's ? \\\"Kaffe\\\" - 5 EUR kvitto "),
        "{:?}",
        lines(&file.bytes)
    );
}

#[test]
fn a_bidi_control_in_a_merchant_name_is_refused_at_the_till() {
    let mut net = Net::new();
    let taxi = receipt(1);
    let disguised = Receipt {
        merchant: kvitt_protocol::receipt::Merchant {
            name: "Taxi \u{202E}BA ttivK".into(),
            ..taxi.merchant.clone()
        },
        ..taxi
    };
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
    assert_eq!(refused.unwrap_err().code, "auth.forbidden");
    let refused = net.ask("agency", ssc_staff(), export(AGENCY, false));
    assert_eq!(refused.unwrap_err().code, "auth.forbidden", "only at an SSC node");
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
