//! How the domain's state enums are stored: as their lowercase names in TEXT columns.
//!
//! The impls live here rather than as derives in `crate::domain` so the domain stays free of sqlx.

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

use crate::domain::states::{ItemState, ShardItemState, TaskState};

macro_rules! text_enum {
    ($($t:ty),*) => {$(
        impl Type<Any> for $t {
            fn type_info() -> AnyTypeInfo {
                <&str as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <&str as Type<Any>>::compatible(ty)
            }
        }

        impl Encode<'_, Any> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $t {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<Any>>::decode(value)?;
                Ok(name.parse::<$t>()?)
            }
        }
    )*};
}

text_enum!(TaskState, ItemState, ShardItemState);
