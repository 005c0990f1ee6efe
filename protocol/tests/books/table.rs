//! The booking table as data: the committed default parses and maps everything; each
//! broken table is refused with the error that names the field.

use kvitt_protocol::books::{ItemKind, TableError, VatRule, DEFAULT_BOOKING_TABLE_JSON};
use kvitt_protocol::vat::RateTable;

use super::*;

fn edited(from: &str, to: &str) -> Result<BookingTable, TableError> {
    assert!(DEFAULT_BOOKING_TABLE_JSON.contains(from), "the default table has {from:?}");
    BookingTable::from_json(&DEFAULT_BOOKING_TABLE_JSON.replacen(from, to, 1))
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
        assert!(table.suggested_account(goods).is_some(), "{goods}");
    }
    assert_eq!(table.suggested_account("hotel"), Some(5831));
    assert_eq!(table.suggested_account("fuel"), Some(5611));
    assert_eq!(table.suggested_account("passenger_transport"), Some(5800));
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
        let shown = spec.lines().any(|line| {
            line.strip_prefix(row.as_str())
                .is_some_and(|rest| rest.starts_with(" |") || rest.starts_with(';'))
        });
        assert!(shown, "spec/books.md lacks the row for {name}: {row}");
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
