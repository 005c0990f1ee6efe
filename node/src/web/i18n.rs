//! The web app's words, one table per language, and how amounts and dates are written.
//!
//! Swedish by default (the users are Swedish agencies), English when the browser asks for
//! it first (Accept-Language) or the person chose it (cookie [`LANG_COOKIE`]). Amounts are
//! written the Swedish way in both: `1 624,00 kr`, the thousands grouped by a no-break
//! space (U+00A0, so an amount never breaks across lines), a decimal comma; dates ISO 8601
//! (`2026-05-04`).

/// The cookie that holds a person's choice of language (`sv` or `en`).
pub const LANG_COOKIE: &str = "kvitt_lang";

/// The thousands separator in amounts: a no-break space.
pub const THOUSANDS_SEPARATOR: char = '\u{a0}';

/// A language of the web app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Svenska (the default).
    #[default]
    Sv,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 code, as `<html lang>` takes it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// A language code of the cookie or switch, if it is one of ours.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim() {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language for a request: the cookie's choice, else the first of ours that
    /// Accept-Language names (in its order; weights are not ranked), else Swedish.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        accept_language
            .into_iter()
            .flat_map(|header| header.split(','))
            .filter_map(|range| range.split(';').next())
            .find_map(|tag| {
                let primary = tag.trim().split('-').next().unwrap_or_default().to_ascii_lowercase();
                Lang::parse(&primary)
            })
            .unwrap_or_default()
    }

    /// This language's words.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::Sv => &SV,
            Lang::En => &EN,
        }
    }
}

/// An amount in öre as `1 624,00 kr` (`-12,50 kr` for a negative one), with
/// [`THOUSANDS_SEPARATOR`] between groups.
pub fn amount(ore: i64) -> String {
    amount_in(ore, "kr")
}

/// An amount in minor units with a currency word or code after it (`12,00 EUR`).
pub fn amount_in(minor: i64, unit: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    let (whole, cents) = (magnitude / 100, magnitude % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(THOUSANDS_SEPARATOR);
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{cents:02}{THOUSANDS_SEPARATOR}{unit}")
}

/// The date of an RFC 3339 time as the web app writes it (`2026-05-04`): its first ten
/// characters, the date at the place of sale.
pub fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// The date and minute of an RFC 3339 time (`2026-05-04 14:03`).
pub fn date_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

macro_rules! text_table {
    ($($field:ident),* $(,)?) => {
        /// Every string of the web app in one language.
        #[allow(missing_docs)]
        #[derive(Debug)]
        pub struct Text { $(pub $field: &'static str,)* }
    };
}

text_table!(
    skip_to_content,
    site_nav,
    home,
    sign_out,
    language,
    switch_to,
    signed_in_as,
    sign_in_title,
    sign_in_help,
    link_refused,
    link_expired,
    link_unknown,
    too_many_attempts,
    forbidden_title,
    forbidden_body,
    not_found_title,
    not_found_body,
    error_title,
    home_title,
    home_intro,
    role_employee,
    role_approver,
    role_ssc_staff,
    role_operator,
    role_till,
    my_receipts,
    my_receipts_intro,
    fetch_receipt,
    fetch_intro,
    receipt_code,
    receipt_code_hint,
    fetch_button,
    code_format,
    code_check,
    code_unknown,
    code_collected,
    code_rate_limited,
    my_claims,
    my_claims_intro,
    new_claim,
    merchant,
    date,
    amount,
    from_date,
    to_date,
    min_amount,
    max_amount,
    search,
    no_receipts,
    older,
    newer,
    receipt_title,
    org_number,
    vat_number,
    address,
    register,
    serial,
    control_unit,
    issued_at,
    description,
    quantity,
    unit_price,
    line_amount,
    vat_rate,
    vat_amount,
    net_amount,
    total,
    rounding,
    payment,
    card,
    card_reference,
    cash,
    other_payment,
    electronic_receipt,
    signature_verified,
    signed_by,
    signature_unverified,
    print,
    print_view,
    back,
    receipt_id,
    returns_receipt,
    pick,
    claimed_already,
    start_claim,
    purpose,
    cost_center,
    account,
    account_hint,
    draft_title,
    items,
    add_mileage,
    mileage,
    km,
    route,
    route_from,
    route_to,
    trip_date,
    per_diem,
    add_receipts,
    policy_findings,
    no_findings,
    severity_error,
    severity_warning,
    submit,
    submitted,
    claim_number,
    status,
    claims_none,
    claim_title,
    timeline,
    event_who,
    event_when,
    event_what,
    event_why,
    withdraw,
    withdraw_confirm,
    claimant,
    status_draft,
    status_submitted,
    status_approved,
    status_rejected,
    status_withdrawn,
    status_booked,
    status_paid,
    status_reversed,
    kind_receipt,
    kind_mileage,
    kind_per_diem,
    field_required,
    field_invalid,
    refused,
    drafts,
    open_draft,
    action_approve,
    action_reject,
    action_book,
    action_pay,
    action_reverse,
    items_none,
    required_mark,
    add_per_diem,
    per_diem_help,
    depart_date,
    depart_time,
    return_date,
    return_time,
    destination,
    free_breakfasts,
    free_lunches,
    free_dinners,
    per_diem_overnight,
    per_diem_too_long,
    per_diem_no_year,
    per_diem_meals,
    my_drafts,
    my_drafts_intro,
    drafts_none,
    opened_at,
    older_drafts,
);

/// Svenska.
pub static SV: Text = Text {
    skip_to_content: "Hoppa till innehållet",
    site_nav: "Huvudmeny",
    home: "Start",
    sign_out: "Logga ut",
    language: "Språk",
    switch_to: "In English",
    signed_in_as: "Inloggad som",
    sign_in_title: "Logga in",
    sign_in_help: "Logga in med länken du fick av din administratör (kvitt user link). En länk gäller en gång i 15 minuter.",
    link_refused: "Inloggningslänken fungerade inte",
    link_expired: "Länken har gått ut. Be om en ny länk.",
    link_unknown: "Länken är okänd eller redan använd. Be om en ny länk.",
    too_many_attempts: "För många inloggningsförsök. Vänta en minut och försök igen.",
    forbidden_title: "Åtgärden nekades",
    forbidden_body: "Formuläret saknade en giltig säkerhetskod eller så är du inte inloggad. Ladda om sidan och försök igen.",
    not_found_title: "Sidan finns inte",
    not_found_body: "Det finns ingen sådan sida, eller så har du inte behörighet att se den.",
    error_title: "Något gick fel",
    home_title: "Start",
    home_intro: "Det här kan du göra:",
    role_employee: "Anställd",
    role_approver: "Attestant",
    role_ssc_staff: "Handläggare, Statens servicecenter",
    role_operator: "Driftansvarig",
    role_till: "Kassa",
    my_receipts: "Mina kvitton",
    my_receipts_intro: "Kvitton som kommit till myndigheten för dig, de senaste först.",
    fetch_receipt: "Hämta kvitto",
    fetch_intro: "Betalade du kontant eller med ett kort som inte är anmält? Skriv in kvittokoden från kvittot, så hämtas kvittot till Mina kvitton.",
    receipt_code: "Kvittokod",
    receipt_code_hint: "Står under kvittots QR-kod, till exempel 556016-0680-7KQ2M-X9D4T-C. Stora eller små bokstäver och mellanslag går bra.",
    fetch_button: "Hämta",
    code_format: "Koden har fel längd eller ett tecken som inte kan stå där. Kontrollera koden mot kvittot.",
    code_check: "Koden stämmer inte: ett tecken är felskrivet. Kontrollera koden mot kvittot.",
    code_unknown: "Inget kvitto väntar på den koden hos säljaren.",
    code_collected: "Koden är redan använd: kvittot har hämtats av någon annan.",
    code_rate_limited: "För många felaktiga koder den här timmen. Försök igen senare.",
    my_claims: "Mina räkningar",
    my_claims_intro: "Dina reseräkningar och utlägg med status.",
    new_claim: "Ny räkning",
    merchant: "Säljare",
    date: "Datum",
    amount: "Belopp",
    from_date: "Från datum",
    to_date: "Till datum",
    min_amount: "Lägsta belopp (kr)",
    max_amount: "Högsta belopp (kr)",
    search: "Sök",
    no_receipts: "Inga kvitton hittades.",
    older: "Äldre kvitton",
    newer: "Till de senaste",
    receipt_title: "Kvitto",
    org_number: "Org.nr",
    vat_number: "Momsreg.nr",
    address: "Adress",
    register: "Kassa",
    serial: "Löpnummer",
    control_unit: "Kontrollenhet",
    issued_at: "Tid",
    description: "Vara eller tjänst",
    quantity: "Antal",
    unit_price: "À-pris",
    line_amount: "Belopp",
    vat_rate: "Moms %",
    vat_amount: "Moms",
    net_amount: "Netto",
    total: "Totalt",
    rounding: "Öresavrundning",
    payment: "Betalning",
    card: "Kort",
    card_reference: "Kortreferens",
    cash: "Kontant",
    other_payment: "Annat",
    electronic_receipt: "Elektroniskt kassakvitto",
    signature_verified: "Signaturen är verifierad",
    signed_by: "signerad av",
    signature_unverified: "Signaturen kunde inte verifieras",
    print: "Skriv ut",
    print_view: "Utskriftsvy",
    back: "Tillbaka",
    receipt_id: "Kvitto-id",
    returns_receipt: "Retur av kvitto",
    pick: "Välj",
    claimed_already: "redan i en räkning",
    start_claim: "Skapa räkning av valda kvitton",
    purpose: "Syfte",
    cost_center: "Kostnadsställe",
    account: "Konto",
    account_hint: "Föreslaget utifrån kvittots kategori.",
    draft_title: "Utkast",
    items: "Poster",
    add_mileage: "Lägg till milersättning",
    mileage: "Milersättning",
    km: "Kilometer",
    route: "Sträcka",
    route_from: "Från",
    route_to: "Till",
    trip_date: "Resdag",
    per_diem: "Traktamente",
    add_receipts: "Lägg till kvitton från Mina kvitton",
    policy_findings: "Policyns anmärkningar",
    no_findings: "Inga anmärkningar.",
    severity_error: "Fel",
    severity_warning: "Varning",
    submit: "Skicka in",
    submitted: "Inskickad",
    claim_number: "Nummer",
    status: "Status",
    claims_none: "Inga räkningar än.",
    claim_title: "Räkning",
    timeline: "Händelser",
    event_who: "Vem",
    event_when: "När",
    event_what: "Vad",
    event_why: "Varför",
    withdraw: "Återkalla räkningen",
    withdraw_confirm: "Återkallar räkningen; kvittona blir fria igen.",
    claimant: "Anställd",
    status_draft: "Utkast",
    status_submitted: "Inskickad",
    status_approved: "Attesterad",
    status_rejected: "Avslagen",
    status_withdrawn: "Återkallad",
    status_booked: "Bokförd",
    status_paid: "Utbetald",
    status_reversed: "Makulerad",
    kind_receipt: "Kvitto",
    kind_mileage: "Milersättning",
    kind_per_diem: "Traktamente",
    field_required: "Fyll i fältet.",
    field_invalid: "Värdet är inte giltigt.",
    refused: "Nekades",
    drafts: "Utkast",
    open_draft: "Öppna utkastet",
    action_approve: "Attestera",
    action_reject: "Avslå",
    action_book: "Bokför",
    action_pay: "Betala",
    action_reverse: "Makulera",
    items_none: "Inga poster än.",
    required_mark: "obligatoriskt",
    add_per_diem: "Lägg till traktamente",
    per_diem_help: "Traktamente inom Sverige, med Skatteverkets belopp för avreseåret. Avresa före 12.00 och hemkomst efter 19.00 räknas som hela dagar, annars halva. Ange de måltider du fått fria (betalda av arbetsgivaren, eller som ingick i biljett eller konferensavgift).",
    depart_date: "Avresedag",
    depart_time: "Avresetid",
    return_date: "Hemkomstdag",
    return_time: "Hemkomsttid",
    destination: "Resmål i Sverige",
    free_breakfasts: "Fria frukostar",
    free_lunches: "Fria luncher",
    free_dinners: "Fria middagar",
    per_diem_overnight: "Traktamente gäller resor med övernattning: hemkomsten ska vara en senare dag än avresan.",
    per_diem_too_long: "Resan är längre än 90 dagar. Efter tre månader på samma ort sänks traktamentet, vilket formuläret inte räknar ut; lägg till det via API:t.",
    per_diem_no_year: "Det finns inga belopp för traktamente för avreseåret.",
    per_diem_meals: "Fler fria måltider av ett slag än resans dagar.",
    my_drafts: "Mina utkast",
    my_drafts_intro: "Räkningar du har påbörjat men inte skickat in, de senaste först.",
    drafts_none: "Du har inga öppna utkast.",
    opened_at: "Påbörjad",
    older_drafts: "Äldre utkast",
};

/// English.
pub static EN: Text = Text {
    skip_to_content: "Skip to content",
    site_nav: "Main menu",
    home: "Home",
    sign_out: "Sign out",
    language: "Language",
    switch_to: "På svenska",
    signed_in_as: "Signed in as",
    sign_in_title: "Sign in",
    sign_in_help: "Sign in with the link your administrator gave you (kvitt user link). A link works once, for 15 minutes.",
    link_refused: "The sign-in link did not work",
    link_expired: "The link has expired. Ask for a new one.",
    link_unknown: "The link is unknown or was used already. Ask for a new one.",
    too_many_attempts: "Too many sign-in attempts. Wait a minute and try again.",
    forbidden_title: "Refused",
    forbidden_body: "The form lacked a valid security code, or you are not signed in. Reload the page and try again.",
    not_found_title: "Page not found",
    not_found_body: "There is no such page, or you may not see it.",
    error_title: "Something went wrong",
    home_title: "Home",
    home_intro: "What you can do:",
    role_employee: "Employee",
    role_approver: "Approver",
    role_ssc_staff: "Shared service center staff",
    role_operator: "Operator",
    role_till: "Till",
    my_receipts: "My receipts",
    my_receipts_intro: "Receipts that reached the agency for you, newest first.",
    fetch_receipt: "Fetch a receipt",
    fetch_intro: "Paid in cash, or with a card that is not enrolled? Enter the receipt code printed on the receipt and it is fetched to My receipts.",
    receipt_code: "Receipt code",
    receipt_code_hint: "Printed under the receipt's QR code, for example 556016-0680-7KQ2M-X9D4T-C. Upper or lower case and spaces are fine.",
    fetch_button: "Fetch",
    code_format: "The code has the wrong length or a character that cannot stand there. Check it against the receipt.",
    code_check: "The code does not add up: a character is mistyped. Check it against the receipt.",
    code_unknown: "No receipt waits for this code at the seller.",
    code_collected: "The code has been used: someone else fetched the receipt.",
    code_rate_limited: "Too many wrong codes this hour. Try again later.",
    my_claims: "My claims",
    my_claims_intro: "Your expense claims and where they stand.",
    new_claim: "New claim",
    merchant: "Merchant",
    date: "Date",
    amount: "Amount",
    from_date: "From date",
    to_date: "To date",
    min_amount: "Lowest amount (SEK)",
    max_amount: "Highest amount (SEK)",
    search: "Search",
    no_receipts: "No receipts found.",
    older: "Older receipts",
    newer: "Back to the newest",
    receipt_title: "Receipt",
    org_number: "Org. no.",
    vat_number: "VAT no.",
    address: "Address",
    register: "Register",
    serial: "Serial no.",
    control_unit: "Control unit",
    issued_at: "Time",
    description: "Goods or service",
    quantity: "Qty",
    unit_price: "Unit price",
    line_amount: "Amount",
    vat_rate: "VAT %",
    vat_amount: "VAT",
    net_amount: "Net",
    total: "Total",
    rounding: "Rounding",
    payment: "Payment",
    card: "Card",
    card_reference: "Card reference",
    cash: "Cash",
    other_payment: "Other",
    electronic_receipt: "Electronic cash-register receipt",
    signature_verified: "Signature verified",
    signed_by: "signed by",
    signature_unverified: "The signature could not be verified",
    print: "Print",
    print_view: "Print view",
    back: "Back",
    receipt_id: "Receipt id",
    returns_receipt: "Return of receipt",
    pick: "Pick",
    claimed_already: "in a claim already",
    start_claim: "Start a claim with the picked receipts",
    purpose: "Purpose",
    cost_center: "Cost centre",
    account: "Account",
    account_hint: "Suggested from the receipt's category.",
    draft_title: "Draft",
    items: "Items",
    add_mileage: "Add mileage",
    mileage: "Mileage",
    km: "Kilometres",
    route: "Route",
    route_from: "From",
    route_to: "To",
    trip_date: "Day of the trip",
    per_diem: "Per diem",
    add_receipts: "Add receipts from My receipts",
    policy_findings: "What the policy says",
    no_findings: "Nothing to remark.",
    severity_error: "Error",
    severity_warning: "Warning",
    submit: "Submit",
    submitted: "Submitted",
    claim_number: "Number",
    status: "Status",
    claims_none: "No claims yet.",
    claim_title: "Claim",
    timeline: "Events",
    event_who: "Who",
    event_when: "When",
    event_what: "What",
    event_why: "Why",
    withdraw: "Withdraw the claim",
    withdraw_confirm: "Withdraws the claim; its receipts are free again.",
    claimant: "Employee",
    status_draft: "Draft",
    status_submitted: "Submitted",
    status_approved: "Approved",
    status_rejected: "Rejected",
    status_withdrawn: "Withdrawn",
    status_booked: "Booked",
    status_paid: "Paid",
    status_reversed: "Reversed",
    kind_receipt: "Receipt",
    kind_mileage: "Mileage",
    kind_per_diem: "Per diem",
    field_required: "Fill in this field.",
    field_invalid: "The value is not valid.",
    refused: "Refused",
    drafts: "Drafts",
    open_draft: "Open the draft",
    action_approve: "Approve",
    action_reject: "Reject",
    action_book: "Book",
    action_pay: "Pay",
    action_reverse: "Reverse",
    items_none: "No items yet.",
    required_mark: "required",
    add_per_diem: "Add per diem",
    per_diem_help: "Per diem within Sweden, at the Tax Agency's amounts for the year of departure. Leaving before 12:00 and coming back after 19:00 count as whole days, otherwise half days. Give the meals you were provided free (paid by the employer, or included in a ticket or conference fee).",
    depart_date: "Day of departure",
    depart_time: "Time of departure",
    return_date: "Day of return",
    return_time: "Time of return",
    destination: "Destination in Sweden",
    free_breakfasts: "Free breakfasts",
    free_lunches: "Free lunches",
    free_dinners: "Free dinners",
    per_diem_overnight: "Per diem is for trips with an overnight stay: the return must be on a later day than the departure.",
    per_diem_too_long: "The trip is longer than 90 days. After three months in one place the per diem is reduced, which this form does not compute; add it through the API.",
    per_diem_no_year: "There are no per diem amounts for the year of departure.",
    per_diem_meals: "More free meals of one kind than the trip has days.",
    my_drafts: "My drafts",
    my_drafts_intro: "Claims you have started but not submitted, newest first.",
    drafts_none: "You have no open drafts.",
    opened_at: "Started",
    older_drafts: "Older drafts",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_a_no_break_space_with_a_decimal_comma() {
        assert_eq!(amount(162_400), "1\u{a0}624,00\u{a0}kr");
        assert_eq!(amount(0), "0,00\u{a0}kr");
        assert_eq!(amount(5), "0,05\u{a0}kr");
        assert_eq!(amount(99_999), "999,99\u{a0}kr");
        assert_eq!(amount(100_000), "1\u{a0}000,00\u{a0}kr");
        assert_eq!(amount(-1_250), "-12,50\u{a0}kr");
        assert_eq!(amount(12_345_678_900), "123\u{a0}456\u{a0}789,00\u{a0}kr");
        assert_eq!(amount(i64::MIN), "-92\u{a0}233\u{a0}720\u{a0}368\u{a0}547\u{a0}758,08\u{a0}kr");
        assert_eq!(amount_in(1_200, "EUR"), "12,00\u{a0}EUR");
    }

    #[test]
    fn dates_are_iso_and_the_language_follows_the_cookie_then_the_browser() {
        assert_eq!(date("2026-05-04T14:03:00+02:00"), "2026-05-04");
        assert_eq!(date_time("2026-05-04T14:03:00+02:00"), "2026-05-04 14:03");
        assert_eq!(Lang::choose(None, None), Lang::Sv);
        assert_eq!(Lang::choose(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(None, Some("de-DE, sv;q=0.5, en;q=0.4")), Lang::Sv);
        assert_eq!(Lang::choose(Some("sv"), Some("en")), Lang::Sv);
        assert_eq!(Lang::choose(Some("xx"), Some("en")), Lang::En);
        assert_eq!(Lang::choose(None, Some("fr")), Lang::Sv);
        assert_eq!(Lang::En.text().my_receipts, "My receipts");
        assert_eq!(Lang::Sv.text().my_receipts, "Mina kvitton");
    }
}
