//! The SDRS writer the demo and the simulator play a till with: what it writes imports
//! back to the sale it describes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kvitt_formats::{import, sdrs_document, Format, SdrsSale, Supplement};

const PAR: &str = "V0010013018209000000000001104";

fn sale(price: i64) -> SdrsSale<'static> {
    SdrsSale {
        seller: ("Resor & Taxi <Kvitt> AB", "556036-0793"),
        register: "SJ-AUTOMAT",
        serial: 1001,
        at: "2026-05-05T09:30:00+02:00",
        description: "Tåg Stockholm–Uppsala \"1 kl\"",
        price,
        par: PAR,
        last_four: 1104,
    }
}

#[test]
fn a_written_document_imports_back_to_the_sale_and_its_par() {
    let document = sdrs_document(&sale(19_500));
    let imported = import(Format::Sdrs, document.as_bytes(), &Supplement::default()).unwrap();
    assert_eq!(imported.card.unwrap().as_str(), PAR);
    let receipt = imported.receipt;
    assert_eq!((receipt.total, receipt.serial, receipt.register.as_str()), (19_500, 1001, "SJ-AUTOMAT"));
    assert_eq!((receipt.merchant.org.as_str(), receipt.buyer), ("556036-0793", None));
    assert_eq!(receipt.merchant.name, "Resor & Taxi <Kvitt> AB", "escaped in the XML, read back");
    assert_eq!(receipt.lines.len(), 1);
    assert_eq!(receipt.lines[0].description, "Tåg Stockholm–Uppsala \"1 kl\"");
    let vat: Vec<_> = receipt.vat.iter().map(|row| (row.rate, row.gross, row.vat)).collect();
    assert_eq!(vat, [(600, 19_500, 1_104)], "6 % of 195.00 kronor, VAT included");
}

#[test]
fn amounts_under_a_krona_and_with_ore_are_written_exactly() {
    for price in [1, 99, 100, 12_345] {
        let document = sdrs_document(&sale(price));
        let imported = import(Format::Sdrs, document.as_bytes(), &Supplement::default()).unwrap();
        assert_eq!(imported.receipt.total, price);
    }
}
