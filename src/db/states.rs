//! How the domain's state enums are stored: as their lowercase names in TEXT columns.
//!
//! The impls live here rather than as derives in `crate::domain` so the domain stays free of sqlx.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Sqlite, Type};

use crate::domain::states::{ItemState, ShardItemState, TaskState};

macro_rules! text_enum {
    ($($t:ty),*) => {$(
        impl Type<Sqlite> for $t {
            fn type_info() -> SqliteTypeInfo {
                <&str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <&str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl Encode<'_, Sqlite> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut <Sqlite as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Sqlite>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $t {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<Sqlite>>::decode(value)?;
                Ok(name.parse::<$t>()?)
            }
        }
    )*};
}

text_enum!(TaskState, ItemState, ShardItemState);
