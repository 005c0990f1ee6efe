//! The booking table as data: the committed default parses and maps everything; each
//! broken table is refused with the error that names the field.

use kvitt_books::{ItemKind, Place, TableError, VatRule, DEFAULT_BOOKING_TABLE_JSON};
use kvitt_protocol::vat::RateTable;

use super::*;

fn edited(from: &str, to: &str) -> Result<BookingTable, TableError> {
    assert!(DEFAULT_BOOKING_TABLE_JSON.contains(from), "the default table has {from:?}");
    BookingTable::from_json(&DEFAULT_BOOKING_TABLE_JSON.replacen(from, to, 1))
}

#[test]
fn an_item_without_a_receipt_is_booked_to_its_kinds_account_for_where_it_was_incurred() {
    let table = table();
    assert_eq!(table.account_for_kind(ItemKind::Mileage, false), Some(7331));
    assert_eq!(table.account_for_kind(ItemKind::PerDiem, false), Some(7321));
    assert_eq!(table.account_for_kind(ItemKind::PerDiem, true), Some(7323));
}

#[test]
fn the_default_table_maps_every_kind_and_goods_category() {
    let table = table();
    assert_eq!(table.version(), 1);
    assert_eq!(table.input_vat_account(), 2640);
    assert_eq!(table.employee_payable_account(), 2820);
    assert_eq!(table.corporate_card_account(), 2890);
    assert_eq!(table.simplified_invoice().limit_incl_vat, 400_000);
    for kind in ItemKind::ALL {
        assert!(table.categories().any(|(_, category)| category.kinds.contains(&kind)), "{kind:?}");
    }
    for goods in RateTable::sweden().categories() {
        for abroad in [false, true] {
            let account = table.suggested_account(goods, abroad);
            let place = account.and_then(|account| table.category_by_account(account)).map(|(_, c)| c.place);
            assert!(place.is_some_and(|place| place.admits(abroad)), "{goods} abroad {abroad}: {account:?}");
        }
    }
    assert_eq!(table.suggested_account("hotel", false), Some(5831));
    assert_eq!(table.suggested_account("restaurant", false), Some(5831));
    assert_eq!(table.suggested_account("fuel", false), Some(5611));
    assert_eq!(table.suggested_account("passenger_transport", false), Some(5800));
    let representation = table.category("representation").unwrap();
    assert_eq!(representation.account, 6071);
    assert_eq!(
        representation.vat,
        VatRule::Representation { limit_excl_vat_per_participant: 30_000, excess_account: 6072 }
    );
    assert_eq!(table.account_name(2640), Some("Ingående moms"));
    assert_eq!(table.account_name(6072), Some("Representation, ej avdragsgill"));
}

#[test]
fn another_version_is_refused() {
    let error = edited("\"version\": 1", "\"version\": 2").unwrap_err();
    assert_eq!(error, TableError::Version { version: 2, supported: 1 });
}

#[test]
fn a_missing_version_is_refused_with_its_path() {
    let error = edited("\"version\": 1,", "").unwrap_err();
    assert!(matches!(&error, TableError::Format { message, .. } if message.contains("version")), "{error}");
}

#[test]
fn an_unknown_field_is_refused_with_its_path() {
    let error = edited("\"account\": 5611,", "\"account\": 5611, \"acount\": 1,").unwrap_err();
    match error {
        TableError::Format { path, message } => {
            assert_eq!(path, "categories.fuel.acount");
            assert!(message.contains("unknown field"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn accounts_are_four_digits() {
    let error = edited("\"5611\": \"Drivmedel", "\"561\": \"Drivmedel").unwrap_err();
    assert_eq!(error, TableError::AccountFormat { field: "accounts.561".into(), account: "561".into() });
    let error = edited("\"5611\": \"Drivmedel", "\"05611\": \"Drivmedel").unwrap_err();
    assert!(matches!(error, TableError::AccountFormat { .. }), "{error}");
    let error = edited("\"input_vat_account\": 2640", "\"input_vat_account\": 999").unwrap_err();
    assert_eq!(error, TableError::AccountFormat { field: "input_vat_account".into(), account: "999".into() });
    let error = edited("\"account\": 5611", "\"account\": 9100").unwrap_err();
    assert_eq!(
        error,
        TableError::AccountFormat { field: "categories.fuel.account".into(), account: "9100".into() }
    );
}

#[test]
fn every_account_booked_has_a_name() {
    let error = edited("\"5611\": \"Drivmedel för personbilar\",", "").unwrap_err();
    assert_eq!(error, TableError::AccountName { field: "categories.fuel.account".into(), account: 5611 });
    let error = edited("\"6072\": \"Representation, ej avdragsgill\",", "").unwrap_err();
    assert_eq!(
        error,
        TableError::AccountName {
            field: "categories.representation.vat.excess_account".into(),
            account: 6072
        }
    );
    let error = edited("\"Ingående moms\"", "\" \"").unwrap_err();
    assert_eq!(error, TableError::AccountNameText { account: 2640 });
    let error = edited("\"Ingående moms\"", "\"Ingående moms €\"").unwrap_err();
    assert_eq!(error, TableError::AccountNameText { account: 2640 });
}

#[test]
fn two_categories_on_one_account_are_refused() {
    let error = edited("\"account\": 5611", "\"account\": 5800").unwrap_err();
    assert_eq!(
        error,
        TableError::SharedAccount { account: 5800, first: "fuel".into(), second: "travel".into() }
    );
}

#[test]
fn a_liability_account_is_no_expense_account() {
    let error =
        edited("\"employee_payable_account\": 2820", "\"employee_payable_account\": 5800").unwrap_err();
    assert_eq!(
        error,
        TableError::ReservedAccount {
            field: "employee_payable_account".into(),
            account: 5800,
            category: "travel".into()
        }
    );
}

#[test]
fn every_item_kind_is_mapped() {
    let error = edited("\"kinds\": [\"mileage\"]", "\"kinds\": [\"per_diem\"]").unwrap_err();
    assert_eq!(error, TableError::KindUnmapped { kind: "mileage" });
    let error = edited("\"kinds\": [\"mileage\"]", "\"kinds\": []").unwrap_err();
    assert_eq!(error, TableError::NoKinds { category: "mileage".into() });
}

#[test]
fn a_taxable_account_is_for_allowances_only_named_and_not_an_expense_account() {
    let error = edited("\"kinds\": [\"mileage\"]", "\"kinds\": [\"receipt\"]").unwrap_err();
    assert_eq!(error, TableError::TaxableAccountKinds { category: "mileage".into() });
    let error = edited("\"taxable_account\": 7332", "\"taxable_account\": 7333").unwrap_err();
    assert_eq!(
        error,
        TableError::AccountName { field: "categories.mileage.taxable_account".into(), account: 7333 }
    );
    let error = edited("\"taxable_account\": 7332", "\"taxable_account\": 7321").unwrap_err();
    assert_eq!(
        error,
        TableError::ReservedAccount {
            field: "categories.mileage.taxable_account".into(),
            account: 7321,
            category: "per_diem".into()
        }
    );
    // Without one, the table loads and the category books without a split.
    assert!(edited(", \"taxable_account\": 7332", "").is_ok());
}

#[test]
fn every_goods_category_is_mapped() {
    let error = edited("\"books\": \"literature\",", "").unwrap_err();
    assert_eq!(error, TableError::LineCategoryUnmapped { line_category: "books".into() });
    let error = edited("\"books\": \"literature\",", "\"books\": \"literature\", \"caviar\": \"other\",")
        .unwrap_err();
    assert_eq!(error, TableError::LineCategoryUnknown { line_category: "caviar".into() });
    let error = edited("\"books\": \"literature\"", "\"books\": \"mileage\"").unwrap_err();
    assert_eq!(
        error,
        TableError::CategoryUnknown { line_category: "books".into(), category: "mileage".into() }
    );
}

#[test]
fn limits_are_in_range() {
    let error = edited("\"limit_excl_vat_per_participant\": 30000", "\"limit_excl_vat_per_participant\": -1")
        .unwrap_err();
    assert!(matches!(error, TableError::Limit { value: -1, .. }), "{error}");
    let error = edited("\"limit_incl_vat\": 400000", "\"limit_incl_vat\": -400000").unwrap_err();
    assert_eq!(
        error.to_string(),
        "booking table: simplified_invoice.limit_incl_vat: -400000 öre, expected 0 to 1000000000"
    );
}

#[test]
fn spec_books_md_shows_the_default_table() {
    // spec/books.md's table of categories must say what the committed JSON says.
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/books.md")).unwrap();
    let table = table();
    for (name, category) in table.categories() {
        let row =
            format!("| {name} | {} {}", category.account, table.account_name(category.account).unwrap());
        let place = match (category.place, &category.abroad) {
            (Place::Anywhere, _) => "anywhere".to_owned(),
            (Place::Abroad, _) => "abroad".to_owned(),
            (Place::Sweden, Some(abroad)) => format!("sweden; abroad: {abroad}"),
            (Place::Sweden, None) => "sweden".to_owned(),
        };
        let shown = spec.lines().any(|line| {
            line.strip_prefix(row.as_str())
                .is_some_and(|rest| rest.starts_with(" |") || rest.starts_with(';'))
                && line.ends_with(&format!("| {place} |"))
        });
        assert!(shown, "spec/books.md lacks the row for {name}: {row} … | {place} |");
    }
    for (field, account) in [
        ("input_vat_account", table.input_vat_account()),
        ("employee_payable_account", table.employee_payable_account()),
        ("corporate_card_account", table.corporate_card_account()),
    ] {
        assert!(
            spec.contains(&format!("| `{field}` |")) && spec.contains(&format!("BAS {account}")),
            "{field}"
        );
    }
}

/// Regression: a hotel abroad was suggested, and booked, as lodging in Sweden (5831).
#[test]
fn lodging_and_meals_abroad_are_suggested_to_the_account_abroad() {
    let table = table();
    for goods in ["hotel", "restaurant", "food", "catering", "take_away"] {
        assert_eq!(table.suggested_account(goods, true), Some(5832), "{goods}");
    }
    // Travel, fuel, representation and the rest have one account wherever incurred.
    for (goods, account) in
        [("passenger_transport", 5800), ("fuel", 5611), ("alcohol", 6071), ("books", 6970)]
    {
        assert_eq!(table.suggested_account(goods, true), Some(account), "{goods}");
        assert_eq!(table.suggested_account(goods, false), Some(account), "{goods}");
    }
    let place = |name: &str| table.category(name).unwrap().place;
    assert_eq!((place("lodging"), place("lodging_abroad")), (Place::Sweden, Place::Abroad));
    assert_eq!((place("per_diem"), place("per_diem_abroad")), (Place::Sweden, Place::Abroad));
    assert_eq!(table.counterpart("lodging").map(|(name, _)| name), Some("lodging_abroad"));
    assert_eq!(table.counterpart("per_diem_abroad").map(|(name, _)| name), Some("per_diem"));
    assert_eq!(table.counterpart("travel"), None);
}

#[test]
fn a_receipt_is_suggested_the_account_of_its_largest_line_for_where_it_was_sold() {
    let table = table();
    let stockholm = swedish_receipt(
        "Hotell Kvitt AB",
        vec![
            line("Frukost", "restaurant", 1000, 12_900, 1200),
            line("Enkelrum", "hotel", 1000, 149_500, 1200),
        ],
        Paid::OwnCard,
        true,
    );
    assert_eq!(table.suggested_account_for(&stockholm), Some(5831));
    let taxi = swedish_receipt(
        "Taxi",
        vec![
            line("Taxi", "passenger_transport", 1000, 40_000, 600),
            line("Vatten", "food", 1000, 2_000, 600),
        ],
        Paid::OwnCard,
        true,
    );
    assert_eq!(table.suggested_account_for(&taxi), Some(5800));
    let berlin = Receipt {
        merchant: Merchant {
            address: Address {
                country: "DE".into(),
                city: "Berlin".into(),
                ..stockholm.merchant.address.clone()
            },
            ..stockholm.merchant.clone()
        },
        ..stockholm.clone()
    };
    assert!(berlin.sold_abroad());
    assert_eq!(table.suggested_account_for(&berlin), Some(5832));
    // In Sweden but in euro: abroad too.
    assert_eq!(
        table.suggested_account_for(&Receipt { currency: "EUR".into(), ..stockholm.clone() }),
        Some(5832)
    );
    let unnamed = Receipt {
        lines: stockholm.lines.iter().map(|line| Line { category: None, ..line.clone() }).collect(),
        ..stockholm
    };
    assert_eq!(table.suggested_account_for(&unnamed), None);
}

#[test]
fn the_abroad_category_is_checked() {
    let error = edited(",\n      \"abroad\": \"lodging_abroad\"", "").unwrap_err();
    assert!(
        matches!(&error, TableError::Abroad { category, why } if category == "lodging" && why.starts_with("missing")),
        "{error}"
    );
    let error = edited("\"abroad\": \"lodging_abroad\"", "\"abroad\": \"hotel_abroad\"").unwrap_err();
    assert_eq!(
        error.to_string(),
        "booking table: categories.lodging.abroad: \"hotel_abroad\" is not a category of the table"
    );
    let error = edited("\"abroad\": \"lodging_abroad\"", "\"abroad\": \"travel\"").unwrap_err();
    assert!(matches!(&error, TableError::Abroad { why, .. } if why.contains("place \"abroad\"")), "{error}");
    let error = edited("\"abroad\": \"lodging_abroad\"", "\"abroad\": \"per_diem_abroad\"").unwrap_err();
    assert!(matches!(&error, TableError::Abroad { why, .. } if why.contains("every kind")), "{error}");
    let error =
        edited("\"place\": \"abroad\" }", "\"place\": \"abroad\", \"abroad\": \"lodging\" }").unwrap_err();
    assert!(matches!(&error, TableError::Abroad { category, .. } if category == "lodging_abroad"), "{error}");
    let error = edited("\"place\": \"sweden\",", "\"place\": \"moon\",").unwrap_err();
    assert!(
        matches!(&error, TableError::Format { path, .. } if path == "categories.lodging.place"),
        "{error}"
    );
}

/// The compiled-in tables are parsed once and shared: every web page and booking asks for
/// them, and parsing the JSON per request was measurable on the claim form.
#[test]
fn the_compiled_in_tables_are_parsed_once_and_shared() {
    let first = BookingTable::default_table().unwrap();
    assert!(std::ptr::eq(first, BookingTable::default_table().unwrap()));
    let allowances = kvitt_books::AllowanceTables::default_tables().unwrap();
    assert!(std::ptr::eq(allowances, kvitt_books::AllowanceTables::default_tables().unwrap()));
}
