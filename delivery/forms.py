"""HTML forms of the delivery screens. They shape input; delivery.services checks and writes it, and its
application errors are put back on the fields."""

import json

from django import forms

from delivery.models import DeliveryExclusion
from dispensary.forms import ApplicationErrorForm

GEOJSON_MAX = 1_000_000  # characters of one pasted or uploaded GeoJSON document
MONEY_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


def _json(text: str, *, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            f"The {what} is not valid JSON: {error.msg} (line {error.lineno})."
        ) from None
    except (ValueError, RecursionError):  # a number of thousands of digits, or lists nested thousands deep
        raise forms.ValidationError(f"The {what} is not GeoJSON this screen can read.") from None


class ZoneForm(ApplicationErrorForm):
    name = forms.CharField(max_length=80)
    minimum_order = forms.DecimalField(
        label="Minimum order ($)",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.TextInput(attrs=MONEY_ATTRS),
    )
    fee = forms.DecimalField(
        label="Delivery fee ($)",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.TextInput(attrs=MONEY_ATTRS),
    )
    estimated_minutes = forms.IntegerField(
        label="Estimated time (minutes)",
        min_value=1,
        max_value=24 * 60,
        widget=forms.NumberInput(attrs={"min": 1}),
    )
    is_active = forms.BooleanField(label="Active (offered to customers)", required=False, initial=True)
    geometry = forms.CharField(
        label="Outline (GeoJSON geometry)",
        max_length=GEOJSON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "data-zone-geometry": ""}),
        help_text="Drawn on the map (click to add corners, drag a corner to move it), or pasted as a GeoJSON "
        "Polygon with [longitude, latitude] pairs.",
        error_messages={"required": "Draw the zone's outline on the map (at least 3 corners)."},
    )

    def clean_geometry(self):
        return _json(self.cleaned_data["geometry"], what="outline")


class ExclusionForm(ApplicationErrorForm):
    """A point with a radius (clicked on the map), or an area pasted as a GeoJSON Polygon."""

    name = forms.CharField(max_length=120, help_text="e.g. Mission High School")
    kind = forms.ChoiceField(choices=DeliveryExclusion.Kind.choices)
    latitude = forms.DecimalField(
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-place-latitude": ""}),
    )
    longitude = forms.DecimalField(
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-place-longitude": ""}),
    )
    radius_m = forms.IntegerField(
        required=False,
        label="Radius (metres)",
        min_value=1,
        max_value=10_000,
        initial=300,
        widget=forms.NumberInput(attrs={"data-place-radius": ""}),
    )
    area = forms.CharField(
        required=False,
        max_length=GEOJSON_MAX,
        label="…or an area (GeoJSON Polygon)",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Instead of a point: the outline of the grounds, [longitude, latitude] pairs.",
    )

    def clean(self):
        data = super().clean()
        area = (data.get("area") or "").strip()
        point = [data.get(name) for name in ("latitude", "longitude")]
        if area:
            if any(value is not None for value in point):
                raise forms.ValidationError("Give either a point with a radius or an area, not both.")
            data["geometry"] = _json(area, what="area")
            data["radius_m"] = None
        elif any(value is None for value in (*point, data.get("radius_m"))) and not self.errors:
            raise forms.ValidationError(
                "Give the place's latitude, longitude and radius (click the map), or its area."
            )
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        if data.get("geometry") is not None:
            return {"name": data["name"], "kind": data["kind"], "geometry": data["geometry"]}
        return {key: data[key] for key in ("name", "kind", "latitude", "longitude", "radius_m")}


class ZoneImportForm(ApplicationErrorForm):
    file = forms.FileField(
        required=False, label="GeoJSON file", help_text="A FeatureCollection (.geojson or .json)."
    )
    text = forms.CharField(
        required=False,
        max_length=GEOJSON_MAX,
        label="…or paste it",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="Each feature: a Polygon or MultiPolygon with properties name, minimum_order, fee, "
        "estimated_minutes and optionally active (true/false). A name already used replaces that zone.",
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        text = data.get("text") or ""
        if upload:
            if upload.size > GEOJSON_MAX:
                raise forms.ValidationError(f"The file is larger than {GEOJSON_MAX // 1000} kB.")
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise forms.ValidationError("Choose a GeoJSON file or paste one.")
        data["document"] = _json(text, what="file")
        return data


class PointCheckForm(ApplicationErrorForm):
    """A point to judge as a delivery address: which zone, fee and time, or why it is refused."""

    latitude = forms.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-check-latitude": ""}),
    )
    longitude = forms.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-check-longitude": ""}),
    )
    line1 = forms.CharField(label="Street address", max_length=200, required=False)
    order_value = forms.DecimalField(
        label="Order value ($)",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        initial=50,
        widget=forms.TextInput(attrs=MONEY_ATTRS),
    )


# --- Drivers, vehicles and shifts --------------------------------------------------------------------------------

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class DriverForm(ApplicationErrorForm):
    user = forms.ModelChoiceField(
        queryset=None,
        label="Employee",
        empty_label="Choose an employee with the driver role",
        help_text="Staff of the organization who hold the driver role and have no driver profile yet.",
    )
    licence_number = forms.CharField(
        label="Licence number", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    licence_region = forms.CharField(
        label="Licence state", max_length=2, initial="CA", widget=forms.TextInput(attrs={"size": 3})
    )
    licence_expires = forms.DateField(label="Licence expires", widget=DATE_WIDGET)
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=DATE_WIDGET,
        help_text="Drivers must be 21 or older on each day they drive.",
    )
    phone = forms.CharField(
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    is_active = forms.BooleanField(label="Active (can be given shifts)", required=False, initial=True)

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if candidates is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = candidates
            self.fields["user"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def service_arguments(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if key != "user"}


class VehicleForm(ApplicationErrorForm):
    make = forms.CharField(max_length=40, help_text="e.g. Toyota")
    model = forms.CharField(max_length=40, help_text="e.g. Prius")
    year = forms.IntegerField(
        min_value=1980, max_value=2100, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    colour = forms.CharField(max_length=30)
    plate = forms.CharField(
        label="Licence plate", max_length=16, help_text="Spaces and dashes are ignored: 7ABC-123 is 7ABC123."
    )
    vin = forms.CharField(label="VIN (optional)", max_length=17, required=False)
    capacity = forms.IntegerField(
        label="Capacity (orders per route)",
        min_value=1,
        max_value=200,
        help_text="How many orders the vehicle carries on one route; the route planner keeps to it.",
    )
    is_active = forms.BooleanField(label="In service", required=False, initial=True)


class ShiftForm(ApplicationErrorForm):
    driver = forms.ModelChoiceField(queryset=None, empty_label="Choose a driver")
    vehicle = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No vehicle yet",
        help_text="A vehicle drives one shift at a time.",
    )
    day = forms.DateField(widget=DATE_WIDGET)
    start = forms.TimeField(label="Starts", widget=TIME_WIDGET)
    end = forms.TimeField(
        label="Ends", widget=TIME_WIDGET, help_text="An end before the start is the next morning."
    )
    zones = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Zones served",
        help_text="Leave all unticked to serve every zone of the store.",
    )

    def __init__(self, *args, store, drivers=None, vehicles, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        if drivers is None:
            del self.fields["driver"]
        else:
            self.fields["driver"].queryset = drivers
            self.fields["driver"].label_from_instance = lambda profile: profile.name
        self.fields["vehicle"].queryset = vehicles
        self.fields["zones"].queryset = zones

    def clean(self):
        import datetime as dt

        from delivery.selectors import local_window

        data = super().clean()
        if self.errors:
            return data
        if not 2000 <= data["day"].year <= 2100:
            raise forms.ValidationError("Choose a day between the years 2000 and 2100.")
        try:
            starts_at, ends_at = local_window(self.store, data["day"], data["start"], data["end"])
        except ValueError:
            raise forms.ValidationError(
                "That time does not exist on that day (the clocks go forward); choose another."
            ) from None
        if ends_at <= starts_at:
            ends_at = dt.datetime.combine(
                data["day"] + dt.timedelta(days=1), data["end"], tzinfo=self.store.tz
            )
        data["starts_at"], data["ends_at"] = starts_at, ends_at
        return data
