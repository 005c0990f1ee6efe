//! Receipt codes (spec/codes.md): a receipt pushed without a buyer gets a code; an
//! agency's employee collects it once, with the merchant's assignment; wrong codes are
//! refused with their own codes, and guessing is bounded.

use kvitt_protocol::code::ReceiptCode;
use kvitt_protocol::wire::RefusalCode;

use super::*;

fn employee(person: &str) -> Caller {
    Caller { person: person.into(), role: CallerRole::Employee }
}

/// Pushes a cash receipt without a buyer and returns its id and code.
fn push_cash(net: &mut Net, serial: u64) -> (RecordId, ReceiptCode) {
    push_cash_at(net, serial, &receipt(serial).issued_at)
}

/// The same, sold at `issued_at`.
fn push_cash_at(net: &mut Net, serial: u64, issued_at: &str) -> (RecordId, ReceiptCode) {
    let cash = Receipt { buyer: None, issued_at: issued_at.into(), ..receipt(serial) };
    let request = ClientRequest::PushReceipt(Box::new(cash));
    match net.ask("merchant", till(), request) {
        Ok(ClientResponse::Pushed { id, code: Some(code), .. }) => (id, code),
        other => panic!("not pushed with a code: {other:?}"),
    }
}

fn fetch(net: &mut Net, person: &str, code: &str) -> Result<ClientResponse, Refusal> {
    net.ask("agency", employee(person), ClientRequest::FetchReceipt { code: code.into() })
}

fn refused_with(result: Result<ClientResponse, Refusal>) -> String {
    match result {
        Err(refusal) => refusal.code.as_str().to_owned(),
        Ok(answer) => panic!("not refused: {answer:?}"),
    }
}

#[test]
fn a_cash_receipt_is_collected_by_its_code_once_and_lands_in_the_employees_list() {
    let mut net = Net::new();
    let (id, code) = push_cash(&mut net, 1);
    assert_eq!(code.merchant(), MERCHANT);
    // The same receipt pushed again answers with the same code.
    let again = net.ask(
        "merchant",
        till(),
        ClientRequest::PushReceipt(Box::new(Receipt { buyer: None, ..receipt(1) })),
    );
    assert!(
        matches!(&again, Ok(ClientResponse::Pushed { duplicate: true, code: Some(same), .. }) if *same == code)
    );

    let Ok(ClientResponse::Fetched { id: fetched, assignment }) =
        fetch(&mut net, "emp-2", &code.qr_payload())
    else {
        panic!("not fetched")
    };
    assert_eq!(fetched, id);
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    let Some(AnyRecord::Assignment(held)) = agency.record(&assignment).unwrap() else {
        panic!("no assignment")
    };
    assert_eq!((held.body().receipt, held.body().buyer.employee.as_deref()), (id, Some("emp-2")));
    let listed = net.ask(
        "agency",
        employee("emp-2"),
        ClientRequest::ListReceipts { employee: None, limit: 10, after: None },
    );
    let Ok(ClientResponse::Receipts(page)) = listed else { panic!("no list") };
    assert_eq!(page.items.iter().map(|receipt| receipt.id()).collect::<Vec<_>>(), vec![id]);
    assert!(net.ask("agency", employee("emp-2"), ClientRequest::Record(id)).is_ok(), "the employee reads it");
    assert!(net.ask("agency", employee("emp-3"), ClientRequest::Record(id)).is_err(), "another does not");
    assert!(net.ask("agency", employee("emp-2"), ClientRequest::Record(assignment)).is_ok());
    assert!(net.ask("agency", employee("emp-3"), ClientRequest::Record(assignment)).is_err());

    // Asked again by the same agency (its answer lost): the same assignment, nothing new.
    let Ok(ClientResponse::Fetched { assignment: again, .. }) = fetch(&mut net, "emp-2", &code.to_string())
    else {
        panic!("not fetched again")
    };
    assert_eq!(again, assignment);
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert!(matches!(merchant.record(&assignment).unwrap(), Some(AnyRecord::Assignment(_))));
}

#[test]
fn a_code_collected_by_one_employee_is_refused_to_another_as_collected() {
    let mut net = Net::new();
    let (_, code) = push_cash(&mut net, 1);
    assert!(matches!(fetch(&mut net, "emp-2", &code.to_string()), Ok(ClientResponse::Fetched { .. })));
    assert_eq!(refused_with(fetch(&mut net, "emp-3", &code.to_string())), "code.collected");
}

#[test]
fn malformed_codes_are_refused_at_the_agency_with_their_own_codes() {
    let mut net = Net::new();
    let (_, code) = push_cash(&mut net, 1);
    let text = code.to_string();
    let last = text.chars().last().unwrap();
    let wrong_check = format!("{}{}", &text[..text.len() - 1], if last == '0' { '1' } else { '0' });
    assert_eq!(refused_with(fetch(&mut net, "emp-2", &wrong_check)), "code.check");
    assert_eq!(refused_with(fetch(&mut net, "emp-2", &text[..text.len() - 2])), "code.format");
    assert_eq!(
        refused_with(fetch(&mut net, "emp-2", &format!("{}U", &text[..text.len() - 1]))),
        "code.format"
    );
    // A well-formed code of a merchant the directory does not list.
    let stranger = ReceiptCode::generate("556036-0793", [1; 8]).unwrap();
    assert_eq!(
        refused_with(fetch(&mut net, "emp-2", &stranger.to_string())),
        RefusalCode::NotMember.as_str()
    );
    // Only employees fetch, and only at an agency.
    let operator = Caller { person: "op".into(), role: CallerRole::Operator };
    let asked = net.ask("agency", operator, ClientRequest::FetchReceipt { code: text.clone() });
    assert_eq!(refused_with(asked), RefusalCode::Forbidden.as_str());
}

#[test]
fn wrong_codes_beyond_the_hourly_limit_are_refused_even_a_right_one() {
    let mut net = Net::new();
    let (_, code) = push_cash(&mut net, 1);
    for attempt in 0..CODE_ATTEMPTS_PER_HOUR {
        let guess = ReceiptCode::generate(MERCHANT, u64::from(attempt).to_le_bytes()).unwrap();
        assert_ne!(guess, code);
        assert_eq!(
            refused_with(fetch(&mut net, "emp-2", &guess.to_string())),
            "code.unknown",
            "attempt {attempt}"
        );
    }
    assert_eq!(refused_with(fetch(&mut net, "emp-2", &code.to_string())), "request.rate_limited");
    // The next hour the right code is taken.
    net.now += time::Duration::hours(1);
    assert!(matches!(fetch(&mut net, "emp-2", &code.to_string()), Ok(ClientResponse::Fetched { .. })));
}

#[test]
fn a_merchant_stores_the_codes_keyed_hash_never_the_code() {
    let mut net = Net::new();
    let (_, code) = push_cash(&mut net, 1);
    let store = &net.nodes[&Net::key_of("merchant")].store;
    let secret = code.secret_text();
    for (key, value) in store.scan(b"", None, usize::MAX).unwrap() {
        for bytes in [&key, &value] {
            assert!(
                !bytes.windows(secret.len()).any(|window| window == secret.as_bytes()),
                "the code is stored"
            );
        }
    }
}

#[test]
fn a_receipt_nobody_collects_is_deleted_after_uncollected_days_and_its_serial_stays_used() {
    let mut net = Net::new();
    let (old, old_code) = push_cash(&mut net, 1);
    net.now += time::Duration::days(2);
    let (young, young_code) = push_cash_at(&mut net, 2, "2026-05-06T07:10:00+02:00");
    let (collected, collected_code) = push_cash(&mut net, 3);
    assert!(matches!(
        fetch(&mut net, "emp-2", &collected_code.to_string()),
        Ok(ClientResponse::Fetched { .. })
    ));
    // Past the period for the first only (the sweep runs at most hourly: step past it).
    net.now += time::Duration::days(i64::from(DEFAULT_UNCOLLECTED_DAYS) - 1) + time::Duration::hours(2);
    net.ask("merchant", till(), ClientRequest::Peers).ok();
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert!(merchant.record(&old).unwrap().is_none(), "the uncollected receipt is deleted");
    assert!(merchant.record(&young).unwrap().is_some(), "a younger one is kept");
    assert!(merchant.record(&collected).unwrap().is_some(), "a collected one is kept");
    assert_eq!(refused_with(fetch(&mut net, "emp-2", &old_code.to_string())), "code.unknown");
    // Its id stays in the register's slot: the serial is not issued again.
    let slot = kvitt_protocol::evidence::Slot::Receipt {
        signer: Net::key_of("merchant"),
        register: receipt(1).register,
        serial: 1,
    };
    assert_eq!(merchant.slot_holder(&slot).unwrap(), Some(old));
    let again = net.ask(
        "merchant",
        till(),
        ClientRequest::PushReceipt(Box::new(Receipt { buyer: None, ..receipt(1) })),
    );
    assert_eq!(refused_with(again), "receipt.serial");
    // The younger one is still collected by its code.
    assert!(matches!(fetch(&mut net, "emp-2", &young_code.to_string()), Ok(ClientResponse::Fetched { .. })));
}
