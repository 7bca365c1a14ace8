//! The journal's little-endian byte codec: a fixed-buffer [`Writer`], a bounds-checked
//! [`Reader`], the [`Wire`] trait of every type a record carries, and the two macros that
//! define journaled types so that each code, name and layout is written exactly once:
//!
//! - `code_enum!`: a one-byte code table (`#[repr(u8)]` enum) with its
//!   names, `ALL`, `from_u8`, `as_str`, `from_name`, its [`Wire`] and `serde` forms, and a
//!   compile-time check that no two variants share a name (the compiler refuses two that
//!   share a code);
//! - `wire_union!`: a tagged union (an enum whose variants carry
//!   fields), with a code table of its kinds and the field-by-field codec, fields in the
//!   order they are declared, each variant's size checked at compile time against
//!   [`PAYLOAD_BYTES_MAX`].
//!
//! What the record kinds are and how a record's payload is laid out is [`crate::record`]'s
//! business; this module only knows bytes. Little-endian only; decoding never panics on
//! any input and refuses (returns `None`) rather than misreads.

/// Largest fixed-layout payload (decisions, venue and admin inputs), in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 64;

/// Writes fixed-layout fields into a payload buffer of [`PAYLOAD_BYTES_MAX`] bytes.
///
/// Every journaled type has a fixed size and each union's variants are checked against the
/// buffer at compile time, so a write past the end is a bug (and panics).
pub struct Writer<'a> {
    buf: &'a mut [u8; PAYLOAD_BYTES_MAX],
    at: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8; PAYLOAD_BYTES_MAX]) -> Self {
        Self { buf, at: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.at
    }

    pub fn is_empty(&self) -> bool {
        self.at == 0
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    pub fn put<T: Wire>(&mut self, value: &T) {
        value.put(self);
    }
}

/// Reads fixed-layout fields back; every read is bounds-checked and returns `None` past the
/// end of the payload.
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }

    pub fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.buf.get(self.at..self.at.checked_add(N)?)?;
        self.at += N;
        bytes.try_into().ok()
    }

    pub fn get<T: Wire>(&mut self) -> Option<T> {
        T::get(self)
    }

    /// `value` if the whole payload was read, else `None` (a padded payload is refused).
    pub fn finish<T>(self, value: T) -> Option<T> {
        (self.at == self.buf.len()).then_some(value)
    }
}

/// A type that is journaled in a fixed number of little-endian bytes.
pub trait Wire: Sized {
    /// Encoded size in bytes.
    const BYTES: usize;
    fn put(&self, w: &mut Writer<'_>);
    /// `None` when the bytes are not a valid value (never panics).
    fn get(r: &mut Reader<'_>) -> Option<Self>;
}

macro_rules! wire_int {
    ($($t:ty),+) => {$(
        impl Wire for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn put(&self, w: &mut Writer<'_>) {
                w.bytes(&self.to_le_bytes());
            }
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                r.take().map(<$t>::from_le_bytes)
            }
        }
    )+};
}

wire_int!(u8, u16, u32, u64, i64, i128, u128);

/// One byte, 0 or 1; any other byte is refused.
impl Wire for bool {
    const BYTES: usize = 1;
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&[u8::from(*self)]);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.take::<1>()? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
}

/// Whether fields of `sizes` bytes fit in a payload after `reserved` bytes (for the
/// compile-time checks of `wire_union!`).
pub const fn fits_payload(reserved: usize, sizes: &[usize]) -> bool {
    let mut total = reserved;
    let mut i = 0;
    while i < sizes.len() {
        total += sizes[i];
        i += 1;
    }
    total <= PAYLOAD_BYTES_MAX
}

/// Whether every name in `names` is distinct (for the compile-time checks of the macros).
pub const fn names_unique(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if str_eq(names[i], names[j]) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Defines a one-byte code table: a `#[repr(u8)]` enum whose variants carry their journal
/// code and their stable name, written `Variant = code "name"`.
///
/// Generates `COUNT`, `ALL` (in declaration order), `code`, `from_u8`, `as_str`,
/// `from_name`, a [`Wire`] impl (one byte) and `serde` impls (the name). The
/// enum derives `Clone, Copy, Debug, PartialEq, Eq, Hash`; add more derives as attributes.
/// Two variants with one code do not compile; two with one name fail a `const` assertion.
macro_rules! code_enum {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vattr:meta])* $variant:ident = $code:literal $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vattr])* $variant = $code ),+
        }

        #[allow(dead_code)]
        impl $name {
            /// How many variants there are.
            pub const COUNT: usize = [$($code),+].len();
            /// Every variant, in declaration order.
            pub const ALL: [Self; Self::COUNT] = [$(Self::$variant),+];

            /// The journal code.
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The variant with journal code `code`; `None` for an unknown code.
            pub const fn from_u8(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The stable name (logs, dumps, metrics labels, the admin API).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The variant named `name`.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == name)
            }
        }

        const _: () = assert!(
            $crate::wire::names_unique(&[$($text),+]),
            concat!(stringify!($name), ": two variants share a name")
        );

        impl $crate::wire::Wire for $name {
            const BYTES: usize = 1;
            fn put(&self, w: &mut $crate::wire::Writer<'_>) {
                w.bytes(&[*self as u8]);
            }
            fn get(r: &mut $crate::wire::Reader<'_>) -> Option<Self> {
                Self::from_u8(r.take::<1>()?[0])
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const NAMES: &[&str] = &[$($text),+];
                let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::from_name(&name)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&name, NAMES))
            }
        }

        #[cfg(test)]
        impl $crate::wire::arbitrary::Arbitrary for $name {
            fn any_value() -> proptest::strategy::BoxedStrategy<Self> {
                use proptest::strategy::Strategy;
                proptest::sample::select(Self::ALL.to_vec()).boxed()
            }
        }
    };
}

/// Defines a tagged union of fixed-layout variants, `Variant = code "name" { fields }` (a
/// variant without fields omits the braces), and `$kind`, the code table of its variants.
///
/// Generates `kind()`, `put_fields` (every field in declaration order, each by its
/// [`Wire`] impl) and `get_fields(kind, reader)`. Where the code goes (a record kind, a tag
/// byte) is the caller's business: see [`crate::record`]. Each variant's fields must fit in
/// [`PAYLOAD_BYTES_MAX`] less `$reserved` bytes (a tag or a header the caller writes first),
/// checked at compile time.
macro_rules! wire_union {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident, kinds $kind:ident, reserved $reserved:literal {
            $(
                $(#[$vattr:meta])*
                $variant:ident = $code:literal $text:literal
                $({ $( $(#[$fattr:meta])* $field:ident : $ty:ty ),* $(,)? })?
            ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis enum $name {
            $(
                $(#[$vattr])*
                $variant $({ $( $(#[$fattr])* $field: $ty ),* })?
            ),+
        }

        $crate::wire::code_enum! {
            #[doc = concat!("The kinds of [`", stringify!($name), "`]: journal codes and names.")]
            $vis enum $kind {
                $( $variant = $code $text ),+
            }
        }

        impl $name {
            /// Which variant this is (its code and name).
            pub const fn kind(&self) -> $kind {
                match self {
                    $(Self::$variant { .. } => $kind::$variant,)+
                }
            }

            /// The variant's name.
            pub const fn name(&self) -> &'static str {
                self.kind().as_str()
            }

            /// Writes the variant's fields (not its code) in declaration order.
            pub fn put_fields(&self, w: &mut $crate::wire::Writer<'_>) {
                match self {
                    $(
                        Self::$variant $({ $($field),* })? => {
                            $($( $crate::wire::Wire::put($field, w); )*)?
                        }
                    )+
                }
            }

            /// Reads the fields of a `kind` variant; `None` when they are not valid.
            pub fn get_fields(kind: $kind, r: &mut $crate::wire::Reader<'_>) -> Option<Self> {
                Some(match kind {
                    $(
                        $kind::$variant => Self::$variant $({
                            $($field: $crate::wire::Wire::get(r)?),*
                        })?,
                    )+
                })
            }
        }

        #[cfg(test)]
        impl $name {
            /// Any valid value of a `kind` variant (for the codec's round-trip properties).
            pub(crate) fn any_of(kind: $kind) -> proptest::strategy::BoxedStrategy<Self> {
                use proptest::strategy::Strategy;
                match kind {
                    $(
                        $kind::$variant => (
                            proptest::strategy::Just(()),
                            $($(<$ty as $crate::wire::arbitrary::Arbitrary>::any_value(),)*)?
                        )
                            .prop_map(|(_, $($($field,)*)?)| Self::$variant $({ $($field),* })?)
                            .boxed(),
                    )+
                }
            }
        }

        const _: () = {
            $(
                assert!(
                    $crate::wire::fits_payload(
                        $reserved,
                        &[$($(<$ty as $crate::wire::Wire>::BYTES),*)?],
                    ),
                    concat!(stringify!($name), "::", stringify!($variant), " does not fit a payload")
                );
            )+
        };
    };
}

pub(crate) use {code_enum, wire_union};

/// Any valid value of a journaled type, for the codec's property tests.
#[cfg(test)]
pub(crate) mod arbitrary {
    use proptest::prelude::*;

    pub(crate) trait Arbitrary: Sized + std::fmt::Debug + Clone {
        fn any_value() -> BoxedStrategy<Self>;
    }

    macro_rules! arbitrary_any {
        ($($t:ty),+) => {$(
            impl Arbitrary for $t {
                fn any_value() -> BoxedStrategy<Self> {
                    any::<$t>().boxed()
                }
            }
        )+};
    }

    arbitrary_any!(u8, u16, u32, u64, i64, i128, u128, bool);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves integers round-trip little-endian, a cut payload is refused rather than misread,
    // and a bool byte other than 0 or 1 is refused.
    #[test]
    fn integers_and_bools() {
        let mut buf = [0; PAYLOAD_BYTES_MAX];
        let mut w = Writer::new(&mut buf);
        w.put(&0x0102_u16);
        w.put(&-2_i64);
        w.put(&u128::MAX);
        w.put(&true);
        let len = w.len();
        assert_eq!(len, 2 + 8 + 16 + 1);
        assert_eq!(&buf[..2], &[2, 1]);
        let mut r = Reader::new(&buf[..len]);
        assert_eq!(r.get::<u16>(), Some(0x0102));
        assert_eq!(r.get::<i64>(), Some(-2));
        assert_eq!(r.get::<u128>(), Some(u128::MAX));
        assert_eq!(r.get::<bool>(), Some(true));
        assert_eq!(r.get::<u8>(), None);
        assert_eq!(Reader::new(&[2]).get::<bool>(), None);
        assert_eq!(Reader::new(&[1, 2, 3]).get::<u32>(), None);
        assert_eq!(Reader::new(&[1, 2]).finish(()), None);
    }

    #[test]
    fn name_uniqueness_check() {
        assert!(names_unique(&["a", "b", "ab"]));
        assert!(!names_unique(&["a", "b", "a"]));
        assert!(names_unique(&[]));
    }
}
