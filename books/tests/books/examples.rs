//! Hand-checked vouchers. VAT in a VAT-inclusive amount is `gross × rate / (1 + rate)`,
//! rounded half away from zero to whole öre; each comment shows the figures.

use super::*;

#[test]
fn domestic_hotel_at_12_percent_paid_with_own_money() {
    // 1 night 1,495.00 incl. 12 %: VAT 149500 × 12/112 = 16017.86 → 16018 öre;
    // expense 149500 − 16018 = 133482; owed to the employee 149500.
    let receipt = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200)],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5831)], std::slice::from_ref(&receipt)).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 133_482), (2640, 16_018), (2820, -149_500)]);
    let id = receipt.id();
    let texts: Vec<&str> = voucher.rows.iter().map(|row| row.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            format!("Hotell Kvitt AB kvitto {id}").as_str(),
            format!("Moms 12 % kvitto {id}").as_str(),
            "Att betala emp-17 räkning 2026-000042",
        ]
    );
    assert_eq!(voucher.series, "K");
    assert_eq!(voucher.number, None);
    assert_eq!(voucher.date, BOOKED_ON);
    assert!(voucher.text.starts_with("Räkning 2026-000042 emp-17 "), "{}", voucher.text);
}

#[test]
fn restaurant_at_12_percent_with_wine_at_25_percent() {
    // 2 × 189.00 food at 12 %: 37800 × 12/112 = 4050 exactly.
    // 1 × 95.00 wine at 25 %: 9500 × 25/125 = 1900 exactly.
    // Total 47300; expense 47300 − 4050 − 1900 = 41350. One 2640 row per rate, ascending.
    let receipt = sign(swedish_receipt(
        "Restaurang Gästis",
        vec![
            line("Dagens fisk", "restaurant", 2000, 18_900, 1200),
            line("Vin", "alcohol", 1000, 9_500, 2500),
        ],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5831)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 41_350), (2640, 4_050), (2640, 1_900), (2820, -47_300)]);
    assert!(voucher.rows[1].text.starts_with("Moms 12 % "));
    assert!(voucher.rows[2].text.starts_with("Moms 25 % "));
}

#[test]
fn taxi_at_6_percent_on_the_corporate_card() {
    // 342.00 at 6 %: 34200 × 6/106 = 1935.85 → 1936; expense 34200 − 1936 = 32264.
    // Paid with the agency's card: owed to the card issuer (2890), nothing to the employee.
    let receipt = sign(swedish_receipt(
        "Taxi Stockholm",
        vec![line("Resa Arlanda", "passenger_transport", 1000, 34_200, 600)],
        Paid::CorporateCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5800)], std::slice::from_ref(&receipt)).unwrap();
    assert_eq!(rows(&voucher), vec![(5800, 32_264), (2640, 1_936), (2890, -34_200)]);
    assert_eq!(voucher.rows[2].text, format!("Företagskort kvitto {}", receipt.id()));
}

#[test]
fn the_same_taxi_with_own_money_is_owed_to_the_employee() {
    // As above, but the card is the employee's: 2820 instead of 2890.
    let receipt = sign(swedish_receipt(
        "Taxi Stockholm",
        vec![line("Resa Arlanda", "passenger_transport", 1000, 34_200, 600)],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5800)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5800, 32_264), (2640, 1_936), (2820, -34_200)]);
}

#[test]
fn part_card_part_cash_splits_the_liability_in_proportion() {
    // 342.00, of which 200.00 on the corporate card and 142.00 in cash.
    // Card share of the claimed 34200: 34200 × 20000/34200 = 20000; employee 14200.
    let mut receipt = swedish_receipt(
        "Taxi Stockholm",
        vec![line("Resa Arlanda", "passenger_transport", 1000, 34_200, 600)],
        Paid::Split { card: 20_000 },
        true,
    );
    receipt.payments.reverse(); // cash first: the order of payments does not matter
    let receipt = sign(receipt);
    let voucher = book_with(vec![whole(&receipt, 5800)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5800, 32_264), (2640, 1_936), (2890, -20_000), (2820, -14_200)]);
}

#[test]
fn fuel_at_25_percent() {
    // 40 l × 19.95 = 798.00 at 25 %: 79800 × 25/125 = 15960; expense 63840.
    let receipt = sign(swedish_receipt(
        "Bensinmacken",
        vec![line("Bensin 95", "fuel", 40_000, 1_995, 2500)],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5611)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5611, 63_840), (2640, 15_960), (2820, -79_800)]);
}

/// A representation dinner: `food` öre of food at 12 % and `wine` öre of wine at 25 %.
fn dinner(food: i64, wine: i64) -> Signed<Receipt> {
    sign(swedish_receipt(
        "Restaurang Gästis",
        vec![line("Middag", "restaurant", 1000, food, 1200), line("Vin", "alcohol", 1000, wine, 2500)],
        Paid::OwnCard,
        true,
    ))
}

#[test]
fn representation_two_participants_exactly_at_the_limit() {
    // Food 560.00: VAT 56000 × 12/112 = 6000, excl. 50000. Wine 125.00: VAT 2500, excl. 10000.
    // Base excl. VAT 60000 = 2 × 30000, the limit: all VAT deductible (6000 + 2500).
    // 6071 takes the base 60000; nothing is left for 6072, so it has no row.
    let receipt = dinner(56_000, 12_500);
    let item = receipt_item(&receipt, 68_500, 6071, &["Anna Ek", "Bo Ström"]);
    let voucher = book_with(vec![item], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(6071, 60_000), (2640, 6_000), (2640, 2_500), (2820, -68_500)]);
    assert!(voucher.rows[0].text.ends_with("(2 deltagare)"), "{}", voucher.rows[0].text);
}

#[test]
fn representation_two_participants_one_ore_over_the_limit() {
    // Food 560.01: VAT 56001 × 12/112 = 6000.11 → 6000, excl. 50001. Wine as above.
    // Base 60001 > limit 60000: VAT scaled by 60000/60001, each rounded:
    //   12 %: 6000 × 60000/60001 = 5999.90 → 6000;  25 %: 2500 × 60000/60001 = 2499.96 → 2500.
    // Expense 68501 − 8500 = 60001: 6071 takes the limit 60000, 6072 the 1 öre above it.
    let receipt = dinner(56_001, 12_500);
    let item = receipt_item(&receipt, 68_501, 6071, &["Anna Ek", "Bo Ström"]);
    let voucher = book_with(vec![item], &[receipt]).unwrap();
    assert_eq!(
        rows(&voucher),
        vec![(6071, 60_000), (6072, 1), (2640, 6_000), (2640, 2_500), (2820, -68_501)]
    );
}

#[test]
fn representation_six_participants_above_the_limit() {
    // Food 2,240.00: VAT 24000, excl. 200000. Wine 500.00: VAT 10000, excl. 40000.
    // Base 240000 > limit 6 × 30000 = 180000: deductible share 180000/240000 = 3/4:
    //   12 %: 24000 × 3/4 = 18000;  25 %: 10000 × 3/4 = 7500.
    // Expense 274000 − 25500 = 248500: 6071 180000, 6072 68500 (60000 excess + 8500 VAT).
    let receipt = dinner(224_000, 50_000);
    let people = ["A Ek", "B Ek", "C Ek", "D Ek", "E Ek", "F Ek"];
    let voucher = book_with(vec![receipt_item(&receipt, 274_000, 6071, &people)], &[receipt]).unwrap();
    assert_eq!(
        rows(&voucher),
        vec![(6071, 180_000), (6072, 68_500), (2640, 18_000), (2640, 7_500), (2820, -274_000)]
    );
}

#[test]
fn representation_six_participants_within_the_limit_deducts_everything() {
    // The same dinner for 8 would be within 8 × 30000 = 240000: full VAT, nothing to 6072.
    let receipt = dinner(224_000, 50_000);
    let people = ["A", "B", "C", "D", "E", "F", "G", "H"];
    let voucher = book_with(vec![receipt_item(&receipt, 274_000, 6071, &people)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(6071, 240_000), (2640, 24_000), (2640, 10_000), (2820, -274_000)]);
}

/// Three nights at 1,495.00: 4,485.00, above the 4,000 SEK simplified-invoice limit.
fn three_nights(employee: bool) -> Signed<Receipt> {
    sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 3000, 149_500, 1200)],
        Paid::OwnCard,
        employee,
    ))
}

#[test]
fn above_4000_sek_naming_the_buyer_deducts_vat() {
    // 448500 × 12/112 = 48053.57 → 48054; expense 448500 − 48054 = 400446.
    let receipt = three_nights(true);
    let voucher = book_with(vec![whole(&receipt, 5831)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 400_446), (2640, 48_054), (2820, -448_500)]);
}

#[test]
fn above_4000_sek_without_the_buyer_deducts_nothing() {
    // No buyer.employee: under the default table (agency_and_employee) the receipt does not
    // name the buyer, so it is no invoice above 4,000 SEK: the whole 448500 is expense.
    let receipt = three_nights(false);
    let voucher = book_with(vec![whole(&receipt, 5831)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 448_500), (2820, -448_500)]);
}

#[test]
fn exactly_4000_sek_without_the_buyer_still_deducts() {
    // 4,000.00 is not above the limit: 400000 × 12/112 = 42857.14 → 42857; expense 357143.
    let receipt = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Svit", "hotel", 1000, 400_000, 1200)],
        Paid::OwnCard,
        false,
    ));
    let voucher = book_with(vec![whole(&receipt, 5831)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 357_143), (2640, 42_857), (2820, -400_000)]);
}

#[test]
fn foreign_eur_hotel_deducts_no_vat() {
    // 2 nights × 120.00 EUR (German VAT 7 %) = 240.00 EUR at 11.4523 SEK/EUR:
    // 240 × 11.4523 = 2748.552 SEK → 274855 öre. Foreign VAT is never deducted.
    let merchant = Merchant { vat_number: Some("DE123456789".into()), ..spreeufer() };
    let receipt = sign(receipt_in(
        merchant,
        "EUR",
        vec![line("Zimmer", "hotel", 2000, 12_000, 700)],
        Paid::CorporateCard,
        true,
    ));
    let item = foreign_item(&receipt, ExchangeRate { value: 114_523, scale: 4 }, 5832);
    assert_eq!(item.amount(), 274_855);
    let voucher = book_with(vec![item], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5832, 274_855), (2890, -274_855)]);
}

#[test]
fn per_diem_books_without_vat() {
    // 3 days × 290.00 − one free breakfast 58.00 = 87000 − 5800 = 81200.
    let voucher = book_with(vec![per_diem(3, 29_000, 1, 5_800)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7321, 81_200), (2820, -81_200)]);
    assert_eq!(voucher.rows[0].text, "Traktamente Göteborg 2026-05-04 - 2026-05-06");
}

#[test]
fn mileage_books_without_vat() {
    // 123 km × 2.50 = 307.50.
    let voucher = book_with(vec![mileage(123, 250)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7331, 30_750), (2820, -30_750)]);
    assert_eq!(voucher.rows[0].text, "Milersättning 123 km Sundsvall - Härnösand");
}

#[test]
fn part_of_a_receipt_scales_its_vat() {
    // Room 1,495.00 at 12 % (VAT 16018, excl. 133482) and breakfast 129.00 at 6 %
    // (129 × 6/106 = 7.30 → VAT 730): total 162400, of which 149500 is claimed.
    //   12 %: 16018 × 149500/162400 = 14745.63 → 14746;  6 %: 730 × 149500/162400 = 672.02 → 672.
    // Expense 149500 − 14746 − 672 = 134082.
    let receipt = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200), line("Frukost", "food", 1000, 12_900, 600)],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![receipt_item(&receipt, 149_500, 5831, &[])], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 134_082), (2640, 672), (2640, 14_746), (2820, -149_500)]);
}

#[test]
fn a_whole_trip_in_one_voucher() {
    // Hotel on the corporate card, taxi with own money, per diem and mileage:
    //   hotel 149500: 5831 133482, 2640 16018, 2890 −149500 (the card's, per receipt);
    //   taxi 34200:   5800 32264, 2640 1936;
    //   per diem 87000 − 5800 = 81200 to 7321; mileage 123 × 250 = 30750 to 7331;
    //   owed to the employee: 34200 + 81200 + 30750 = 146150, one 2820 row last.
    let hotel = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200)],
        Paid::CorporateCard,
        true,
    ));
    let taxi = sign(swedish_receipt(
        "Taxi Stockholm",
        vec![line("Resa", "passenger_transport", 1000, 34_200, 600)],
        Paid::OwnCard,
        true,
    ));
    let items =
        vec![whole(&hotel, 5831), whole(&taxi, 5800), per_diem(3, 29_000, 1, 5_800), mileage(123, 250)];
    let voucher = book_with(items, &[taxi, hotel]).unwrap();
    assert_eq!(
        rows(&voucher),
        vec![
            (5831, 133_482),
            (2640, 16_018),
            (2890, -149_500),
            (5800, 32_264),
            (2640, 1_936),
            (7321, 81_200),
            (7331, 30_750),
            (2820, -146_150),
        ]
    );
}

#[test]
fn the_representation_limit_is_data_in_the_table() {
    // With the limit set to 200 SEK in the table, the six-person dinner's base cap is
    // 6 × 20000 = 120000 of 240000, half: 12 % 24000/2 = 12000, 25 % 10000/2 = 5000.
    // Expense 274000 − 17000 = 257000: 6071 120000, 6072 137000.
    let json = kvitt_books::DEFAULT_BOOKING_TABLE_JSON
        .replace("\"limit_excl_vat_per_participant\": 30000", "\"limit_excl_vat_per_participant\": 20000");
    let table = BookingTable::from_json(&json).unwrap();
    let receipt = dinner(224_000, 50_000);
    let people = ["A", "B", "C", "D", "E", "F"];
    let claim = claim(vec![receipt_item(&receipt, 274_000, 6071, &people)]);
    let voucher =
        book(&table, allowances(), &books(), &claim, ClaimReceipts::named(&[receipt]), BOOKED_ON).unwrap();
    assert_eq!(
        rows(&voucher),
        vec![(6071, 120_000), (6072, 137_000), (2640, 12_000), (2640, 5_000), (2820, -274_000)]
    );
}

#[test]
fn the_buyer_rule_is_data_in_the_table() {
    // With buyer_named_by = agency, the organisation number names the buyer: the 4,485.00
    // receipt without an employee deducts its VAT (48054, as above).
    let json = kvitt_books::DEFAULT_BOOKING_TABLE_JSON
        .replace("\"buyer_named_by\": \"agency_and_employee\"", "\"buyer_named_by\": \"agency\"");
    let table = BookingTable::from_json(&json).unwrap();
    let receipt = three_nights(false);
    let voucher = book(
        &table,
        allowances(),
        &books(),
        &claim(vec![whole(&receipt, 5831)]),
        ClaimReceipts::named(&[receipt]),
        BOOKED_ON,
    )
    .unwrap();
    assert_eq!(rows(&voucher), vec![(5831, 400_446), (2640, 48_054), (2820, -448_500)]);
}

#[test]
fn a_foreign_seller_charging_sek_deducts_no_vat() {
    // A Norwegian ferry priced in SEK: its VAT is not Swedish VAT, so the whole 450.00 is
    // expense, though the receipt lists 25 % on it.
    let merchant = Merchant {
        name: "Fjord Line AS".into(),
        org: "NO:987654321".into(),
        vat_number: None,
        address: Address {
            street: "Kaiveien 1".into(),
            postal_code: "3950".into(),
            city: "Langesund".into(),
            country: "NO".into(),
        },
    };
    let receipt = sign(receipt_in(
        merchant,
        "SEK",
        vec![line("Överfart", "ferry", 1000, 45_000, 2500)],
        Paid::OwnCard,
        true,
    ));
    let voucher = book_with(vec![whole(&receipt, 5800)], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5800, 45_000), (2820, -45_000)]);
}

#[test]
fn part_of_a_split_payment_is_split_in_proportion() {
    // 342.00 taxi, 200.00 on the corporate card and 142.00 in cash; 171.00 claimed.
    //   VAT 1936 × 17100/34200 = 968; expense 17100 − 968 = 16132.
    //   Card share 17100 × 20000/34200 = 10000; the employee 17100 − 10000 = 7100.
    let receipt = sign(swedish_receipt(
        "Taxi Stockholm",
        vec![line("Resa Arlanda", "passenger_transport", 1000, 34_200, 600)],
        Paid::Split { card: 20_000 },
        true,
    ));
    let voucher = book_with(vec![receipt_item(&receipt, 17_100, 5800, &[])], &[receipt]).unwrap();
    assert_eq!(rows(&voucher), vec![(5800, 16_132), (2640, 968), (2890, -10_000), (2820, -7_100)]);
}
