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
