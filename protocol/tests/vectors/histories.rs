//! Claim histories: event chains that end in a status, or whose first refused event is named.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base {
        hotel, claim, claim_id, submitted, reviewed, approved, rejected, booked, paid, reversed, ..
    } = base;
    let claim_id = *claim_id;
    let mut vectors = Vec::new();
    vectors.push(
        Vector::history(
            "claim-history-valid-paid",
            "submitted → approved → booked → paid, each event naming the previous one.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes()],
        )
        .ends_in("paid"),
    );
    vectors.push(
        Vector::history(
            "claim-history-valid-rejected",
            "submitted → reviewed (a note keeps the status) → rejected.",
            claim.bytes(),
            &[submitted.bytes(), reviewed.bytes(), rejected.bytes()],
        )
        .ends_in("rejected"),
    );
    let self_approved = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-22T09:06:00+02:00",
            "emp-17",
            Role::Approver,
            Action::Approved,
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-self-approval",
            "The claimant approves their own claim in the approver role: no self-approval.",
            claim.bytes(),
            &[submitted.bytes(), self_approved.bytes()],
        )
        .fails_at_event(1, E::Transition, "action"),
    );
    let booked_off_chain = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-26T14:00:00+02:00",
            "ssc-handl-3",
            Role::Ssc,
            Action::Booked { series: "R".into(), number: 4_711 },
        ),
        SSC,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-broken-chain",
            "The booking names the submission as previous, but the latest event is the approval.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked_off_chain.bytes()],
        )
        .fails_at_event(2, E::Chain, "previous"),
    );
    let other_claim = sign(common::claim(hotel.id(), hotel.body().total), AGENCY);
    let submitted_elsewhere = sign(
        event(
            other_claim.id(),
            None,
            "2026-05-22T09:05:00+02:00",
            "emp-17",
            Role::Employee,
            Action::Submitted,
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-other-claim",
            "The first event submits another claim.",
            claim.bytes(),
            &[submitted_elsewhere.bytes()],
        )
        .fails_at_event(0, E::Chain, "claim"),
    );
    let reviewed_after_paid = sign(
        event(
            claim_id,
            Some(paid.id()),
            "2026-06-01T10:00:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Reviewed { note: None },
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-after-paid",
            "A note after the claim was paid: paid is final, nothing may follow.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes(), reviewed_after_paid.bytes()],
        )
        .fails_at_event(4, E::Transition, "action"),
    );

    vectors.push(
        Vector::history(
            "claim-history-valid-reversed",
            "submitted → approved → booked → paid → reversed: a wrong payment taken back by the SSC; reversed is final.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes(), reversed.bytes()],
        )
        .ends_in("reversed"),
    );
    // An SSC event (or, to break the rules, an approver's) of the claim after `previous`.
    let later = |previous: &Signed<ClaimEvent>, at: &str, person: &str, role: Role, action: Action| {
        let key_name = if role == Role::Ssc { SSC } else { AGENCY };
        sign(event(claim_id, Some(previous.id()), at, person, role, action), key_name)
    };
    let reversal =
        |reason: &str, number: u64| Action::Reversed { reason: reason.into(), series: "R".into(), number };
    let reversed_unpaid = later(
        booked,
        "2026-05-27T08:00:00+02:00",
        "ssc-handl-3",
        Role::Ssc,
        reversal("Bokförd på fel konto; den anställda skickar en rättad räkning.", 4_712),
    );
    let paid_history = [submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes()];
    let reversed_by_approver =
        later(paid, "2026-06-03T10:15:00+02:00", "chef-4", Role::Approver, reversal("Fel belopp.", 4_790));
    let reversed_when_submitted = later(
        submitted,
        "2026-05-22T10:00:00+02:00",
        "ssc-handl-3",
        Role::Ssc,
        reversal("Fel belopp.", 4_790),
    );
    let reviewed_after_reversed = later(
        reversed,
        "2026-06-04T10:00:00+02:00",
        "chef-4",
        Role::Approver,
        Action::Reviewed { note: None },
    );
    // Each ends reversed, or its event at the index given is refused (event.transition).
    for (name, description, events, refused_at) in [
        (
            "claim-history-valid-reversed-before-payment",
            "submitted → approved → booked → reversed: a booking found wrong before payment is reversed too.",
            vec![submitted.bytes(), approved.bytes(), booked.bytes(), reversed_unpaid.bytes()],
            None,
        ),
        (
            "claim-history-invalid-reversed-by-approver",
            "The approver reverses the paid claim: only the SSC reverses.",
            [&paid_history[..], &[reversed_by_approver.bytes()]].concat(),
            Some(4),
        ),
        (
            "claim-history-invalid-reversed-when-submitted",
            "The SSC reverses a claim that is only submitted: nothing was booked to reverse.",
            vec![submitted.bytes(), reversed_when_submitted.bytes()],
            Some(1),
        ),
        (
            "claim-history-invalid-after-reversed",
            "A note after the claim was reversed: reversed is final, nothing may follow.",
            [&paid_history[..], &[reversed.bytes(), reviewed_after_reversed.bytes()]].concat(),
            Some(5),
        ),
    ] {
        let history = Vector::history(name, description, claim.bytes(), &events);
        vectors.push(match refused_at {
            Some(event) => history.fails_at_event(event, E::Transition, "action"),
            None => history.ends_in("reversed"),
        });
    }

    vectors
}
