//! The typed ids of `domain::ids` as database values: each is stored as its `i64`, on any
//! database whose `i64` is, so rows and binds carry `TaskId`, `ItemId`… instead of bare numbers.
//! (The impls live here because `domain/` knows nothing of sqlx.)

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::ids::{ExportId, ImportId, InviteId, ItemId, ShardId, TaskId, TokenId, UserId};

macro_rules! id_as_i64 {
    ($($name:ident),* $(,)?) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            i64: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            i64: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            i64: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($name(<i64 as Decode<'r, DB>>::decode(value)?))
            }
        }
    )*};
}

id_as_i64!(
    UserId, InviteId, TokenId, TaskId, ItemId, ShardId, ImportId, ExportId
);
