"""`__in` on integer columns drops the numbers no column can hold. Django already answers `pk=<40 digits>` with
no rows; `pk__in=[<40 digits>]` (a multiple choice of ids posted by a form, an id filter) raised an
OverflowError on SQLite and "integer out of range" on PostgreSQL. Registered on IntegerField (and so on every
integer and auto field) by the core's AppConfig."""

from django.db.models import IntegerField
from django.db.models.lookups import In


class IntegerIn(In):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


def integer_lookups_register() -> None:
    IntegerField.register_lookup(IntegerIn)
