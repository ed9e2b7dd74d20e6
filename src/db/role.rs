//! How a user's `Role` is stored: as its lowercase name in a TEXT column.
//!
//! The impls live here rather than as derives in `crate::domain` so the domain stays free of sqlx.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Sqlite, Type};

use crate::domain::role::Role;

impl Type<Sqlite> for Role {
    fn type_info() -> SqliteTypeInfo {
        <&str as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <&str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Role {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Sqlite>>::encode_by_ref(&self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Role {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let name = <&str as Decode<Sqlite>>::decode(value)?;
        Role::parse(name).ok_or_else(|| format!("unknown role {name:?}").into())
    }
}
