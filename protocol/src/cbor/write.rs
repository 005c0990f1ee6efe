//! The deterministic encoding of a serde value written straight to bytes, with no value
//! tree: the same bytes as [`super::encode_value`] of [`super::to_value`], or a refusal
//! where `to_value` would fail (a float, `None`, a unit, an integer beyond the profile's
//! range).
//!
//! Maps are written entry by entry as serde hands them over, then their entries are put
//! in the order of their encoded keys in place; the head, whose count is known only then,
//! goes in front.

use serde::ser::{self, Serialize};

use super::strict::Refused;

/// The deterministic encoding of `value`, or `Refused` where [`super::to_value`] fails.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Result<Vec<u8>, Refused> {
    let mut writer = Writer { out: Vec::with_capacity(capacity), entries: Vec::new(), scratch: Vec::new() };
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

/// The most a thread keeps of the buffers [`encodes_to`] used, each: enough for a full
/// delivery of ordinary receipts, so a node decoding messages reuses them instead of
/// asking the allocator (and the kernel, for fresh pages) for two large buffers each time.
const KEPT_BUFFER_BYTES: usize = 1 << 20;

std::thread_local! {
    /// The output and scratch buffers of the last [`encodes_to`] on this thread.
    static BUFFERS: std::cell::Cell<(Vec<u8>, Vec<u8>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// Whether `value` encodes to exactly `bytes`, or `Refused` where [`super::to_value`]
/// fails: [`to_vec`] and a comparison, in buffers kept on the thread.
pub(crate) fn encodes_to<T: Serialize + ?Sized>(value: &T, bytes: &[u8]) -> Result<bool, Refused> {
    let (mut out, mut scratch) = BUFFERS.take();
    out.clear();
    out.reserve(bytes.len());
    let mut writer = Writer { out, entries: Vec::new(), scratch };
    let same = value.serialize(&mut writer).map(|()| writer.out == bytes);
    (out, scratch) = (writer.out, writer.scratch);
    for buffer in [&mut out, &mut scratch] {
        if buffer.capacity() > KEPT_BUFFER_BYTES {
            *buffer = Vec::new();
        }
    }
    BUFFERS.set((out, scratch));
    same
}

/// Where one map entry lies in the output: its key from `key`, its value from `value`,
/// up to `end`.
#[derive(Clone, Copy)]
struct Entry {
    key: usize,
    value: usize,
    end: usize,
}

struct Writer {
    out: Vec<u8>,
    /// The entries of the maps open now, innermost last.
    entries: Vec<Entry>,
    /// Room to put a map's entries in order.
    scratch: Vec<u8>,
}

impl Writer {
    fn head(&mut self, major: u8, argument: u64) {
        let (bytes, length) = head(major, argument);
        self.out.extend_from_slice(bytes.get(..length).unwrap_or_default());
    }

    fn integer(&mut self, value: i128) -> Result<(), Refused> {
        match u64::try_from(value) {
            Ok(unsigned) => self.head(0, unsigned),
            Err(_) => self.head(1, u64::try_from(-1 - value).map_err(|_| Refused)?),
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        self.head(3, text.len() as u64);
        self.out.extend_from_slice(text.as_bytes());
    }

    /// Opens a map or array whose head goes in front of its content at [`Writer::close`].
    fn open(&mut self) -> Open {
        Open { start: self.out.len(), entries: self.entries.len(), items: 0 }
    }

    /// Puts the head of the array (`map` false) or map opened as `open` in front of its
    /// content, and a map's entries in the order of their encoded keys.
    fn close(&mut self, open: Open, map: bool) {
        if !map {
            let (bytes, length) = head(4, open.items as u64);
            self.out.splice(open.start..open.start, bytes.into_iter().take(length));
            return;
        }
        let out = &self.out;
        let key = |entry: &Entry| out.get(entry.key..entry.value).unwrap_or_default();
        let entries = self.entries.get_mut(open.entries..).unwrap_or_default();
        let (bytes, length) = head(5, entries.len() as u64);
        // Entries already in order (written one after the other) need only their head.
        if entries.is_sorted_by(|a, b| key(a) <= key(b)) {
            self.entries.truncate(open.entries);
            self.out.splice(open.start..open.start, bytes.into_iter().take(length));
            return;
        }
        // Stable, as `to_value` sorts: a key given twice stays twice, in its order.
        entries.sort_by(|a, b| key(a).cmp(key(b)));
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes.get(..length).unwrap_or_default());
        for entry in entries.iter() {
            self.scratch.extend_from_slice(out.get(entry.key..entry.end).unwrap_or_default());
        }
        self.entries.truncate(open.entries);
        self.out.truncate(open.start);
        self.out.extend_from_slice(&self.scratch);
    }
}

/// The shortest head of major type `major` with `argument`: its bytes and how many.
fn head(major: u8, argument: u64) -> ([u8; 9], usize) {
    let mut bytes = [0; 9];
    let major = major << 5;
    let length: usize = match argument {
        0..=23 => {
            bytes[0] = major | argument as u8;
            return (bytes, 1);
        }
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    };
    bytes[0] = major | (24 + length.trailing_zeros() as u8);
    let argument = argument.to_be_bytes();
    for (to, from) in bytes.iter_mut().skip(1).zip(argument.iter().skip(8 - length)) {
        *to = *from;
    }
    (bytes, 1 + length)
}

/// An array or map being written.
struct Open {
    /// Where its content starts in the output.
    start: usize,
    /// How many entries of enclosing maps were open before it.
    entries: usize,
    /// Elements written so far (arrays).
    items: usize,
}

/// An array or map being written, with the writer.
struct Compound<'w> {
    writer: &'w mut Writer,
    open: Open,
    /// The start of the key just written, for a map's `serialize_key`/`serialize_value`.
    key: usize,
}

impl<'w> Compound<'w> {
    fn new(writer: &'w mut Writer, variant: Option<&str>) -> Compound<'w> {
        if let Some(name) = variant {
            // A one-entry map needs no sorting: its head and key go first.
            writer.out.push(0xa1);
            writer.text(name);
        }
        let open = writer.open();
        Compound { writer, open, key: 0 }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.open.items += 1;
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Refused> {
        let key = self.writer.out.len();
        self.writer.text(name);
        let start = self.writer.out.len();
        value.serialize(&mut *self.writer)?;
        self.writer.entries.push(Entry { key, value: start, end: self.writer.out.len() });
        Ok(())
    }

    fn end(self, map: bool) -> Result<(), Refused> {
        self.writer.close(self.open, map);
        Ok(())
    }
}

/// Whether a variant is one of ciborium's own tag markers, which the profile forbids.
fn is_tag_marker(name: &str) -> bool {
    name == "@@TAG@@"
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, value: bool) -> Result<(), Refused> {
        self.out.push(if value { 0xf5 } else { 0xf4 });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_i16(self, value: i16) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_i32(self, value: i32) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_i64(self, value: i64) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_i128(self, value: i128) -> Result<(), Refused> {
        self.integer(value)
    }

    fn serialize_u8(self, value: u8) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_u16(self, value: u16) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_u32(self, value: u32) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_u64(self, value: u64) -> Result<(), Refused> {
        self.integer(value.into())
    }

    fn serialize_u128(self, value: u128) -> Result<(), Refused> {
        self.integer(i128::try_from(value).map_err(|_| Refused)?)
    }

    fn serialize_f32(self, _value: f32) -> Result<(), Refused> {
        Err(Refused)
    }

    fn serialize_f64(self, _value: f64) -> Result<(), Refused> {
        Err(Refused)
    }

    fn serialize_char(self, value: char) -> Result<(), Refused> {
        self.text(value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), Refused> {
        self.text(value);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Refused> {
        self.head(2, value.len() as u64);
        self.out.extend_from_slice(value);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Refused> {
        Err(Refused)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Refused> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Refused> {
        Err(Refused)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Refused> {
        Err(Refused)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Refused> {
        self.text(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        if is_tag_marker(name) {
            return Err(Refused);
        }
        self.out.push(0xa1);
        self.text(variant);
        value.serialize(self)
    }

    fn serialize_seq(self, _length: Option<usize>) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, None))
    }

    fn serialize_tuple(self, _length: usize) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, None))
    }

    fn serialize_tuple_struct(self, _name: &'static str, _length: usize) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, None))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _length: usize,
    ) -> Result<Compound<'w>, Refused> {
        if is_tag_marker(name) {
            return Err(Refused);
        }
        Ok(Compound::new(self, Some(variant)))
    }

    fn serialize_map(self, _length: Option<usize>) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, None))
    }

    fn serialize_struct(self, _name: &'static str, _length: usize) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, None))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _length: usize,
    ) -> Result<Compound<'w>, Refused> {
        Ok(Compound::new(self, Some(variant)))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, false)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, false)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, false)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.element(value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, false)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Refused> {
        self.key = self.writer.out.len();
        key.serialize(&mut *self.writer)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        let start = self.writer.out.len();
        value.serialize(&mut *self.writer)?;
        self.writer.entries.push(Entry { key: self.key, value: start, end: self.writer.out.len() });
        Ok(())
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, true)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.field(name, value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, true)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Refused;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.field(name, value)
    }

    fn end(self) -> Result<(), Refused> {
        Compound::end(self, true)
    }
}

impl ser::Error for Refused {
    fn custom<M: std::fmt::Display>(_message: M) -> Self {
        Refused
    }
}
