//! Directory rules: correctly signed directories that break one rule each.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors() -> Vec<Vector> {
    use ErrorCode as E;

    let mut vectors = Vec::new();
    let directory_fault =
        |name: &str, description: &str, edit: &dyn Fn(&mut Directory), code: ErrorCode, path: &str| {
            let mut body = network_directory();
            edit(&mut body);
            Vector::record(name, "directory", description, forge_typed(&body, OPERATOR))
                .signed_by(OPERATOR)
                .fails(code, path)
        };
    vectors.push(directory_fault(
        "directory-invalid-duplicate-key",
        "The grocer is listed with the hotel's node key.",
        &|d| d.members[1].key = d.members[0].key,
        E::DuplicateMember,
        "body.members[1].key",
    ));
    vectors.push(directory_fault(
        "directory-invalid-serves-unknown-agency",
        "The SSC serves 202100-5521, which is not an agency of this directory.",
        &|d| d.members[4].serves.push(OTHER_AGENCY_ORG.into()),
        E::Serves,
        "body.members[4].serves[1]",
    ));
    vectors.push(directory_fault(
        "directory-invalid-address",
        "A member's address has no port.",
        &|d| d.members[0].addresses[0] = "kvitt.hotell.example".into(),
        E::Address,
        "body.members[0].addresses[0]",
    ));
    // spec/protocol.md §Field formats, Network address: one spelling per address.
    for (name, address, why) in [
        ("upper-case", "[2001:DB8::7]:7400", "upper-case hex digits"),
        ("leading-zeros", "[2001:0db8::7]:7400", "a group with a leading zero"),
        ("uncompressed", "[2001:db8:0:0:0:0:0:7]:7400", "five zero groups not compressed to ::"),
        (
            "ipv4-mapped-hex",
            "[::ffff:c000:207]:7400",
            "an IPv4-mapped address in hex, where RFC 5952 writes ::ffff:192.0.2.7",
        ),
        (
            "ipv4-compatible",
            "[::192.0.2.7]:7400",
            "dotted IPv4 outside the IPv4-mapped prefix, where RFC 5952 writes ::c000:207",
        ),
        (
            "ipv4-leading-zero",
            "127.000.0.1:7400",
            "an IPv4 address with leading zeros, which some resolvers read as octal",
        ),
    ] {
        vectors.push(directory_fault(
            &format!("directory-invalid-address-{name}"),
            &format!("The SSC's address {address} has {why}: not the canonical text (RFC 5952 for IPv6)."),
            &|d| d.members[4].addresses[0] = address.into(),
            E::Address,
            "body.members[4].addresses[0]",
        ));
    }
    let mut too_many_items = body_value(&network_directory());
    *at(&mut too_many_items, "members[0].addresses") =
        Value::Array(vec![Value::Integer(0.into()); kvitt_protocol::limits::MAX_CBOR_ITEMS]);
    vectors.push(
        Vector::record(
            "encoding-too-many-items",
            "directory",
            "A member's addresses are 65,536 zeros, so the directory holds more than MAX_CBOR_ITEMS (65,536) data items in 66 KB, within its size limit. The item count is checked after depth and before types and schema.",
            forge("directory", too_many_items, OPERATOR),
        )
        .signed_by(OPERATOR)
        .fails(E::TooManyItems, ""),
    );

    vectors
}
