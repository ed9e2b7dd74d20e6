//! How a user's `Role` is stored: as its lowercase name in a TEXT column.
//!
//! The impls live here rather than as derives in `crate::domain` so the domain stays free of sqlx.

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

use crate::domain::role::Role;

impl Type<Any> for Role {
    fn type_info() -> AnyTypeInfo {
        <&str as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <&str as Type<Any>>::compatible(ty)
    }
}

impl Encode<'_, Any> for Role {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Any>>::encode_by_ref(&self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Any> for Role {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let name = <&str as Decode<Any>>::decode(value)?;
        Role::parse(name).ok_or_else(|| format!("unknown role {name:?}").into())
    }
}
